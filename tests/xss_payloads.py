"""A corpus of hostile text for any test that puts user input on a page.

`PAYLOADS` holds well over 100 distinct attacks: script tags, event-handler attributes,
javascript:/data:/vbscript: URLs, SVG and MathML tricks, attribute and tag breakouts,
template-injection probes and encoded variants (entities, URL-encoding, mixed case,
NUL and whitespace tricks). `assert_no_live_markup` parses a page and fails on any event-handler
attribute, inline script, style attribute, script URL or dangerous tag;
`assert_payload_escaped` fails when a payload that opens a tag appears verbatim.
"""

from tests.html_checks import parse

_SCRIPT_TAGS = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script src=https://evil.example/x.js></script>",
    "<script/src=//evil.example/x.js></script>",
    "<script >alert(1)</script >",
    "<script\n>alert(1)</script>",
    "<<script>alert(1)//<</script>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    "<script type=module>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
]

_EVENT_HANDLERS = [
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)//",
    '<img src="x" onerror="alert(1)">',
    "<img/src=x/onerror=alert(1)>",
    "<IMG SRC=x ONERROR=alert(1)>",
    "<img src=x onerror\t=alert(1)>",
    "<img src=x onerror\n=alert(1)>",
    "<body onload=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<iframe onload=alert(1)></iframe>",
    "<input autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<div onmouseover=alert(1)>hover</div>",
    "<a onclick=alert(1)>click</a>",
    "<p onpointerenter=alert(1)>x</p>",
    "<object data=x onerror=alert(1)>",
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<style onload=alert(1)></style>",
    "<link rel=stylesheet href=x onload=alert(1)>",
    "<table background=x onerror=alert(1)>",
    "<xss onafterscriptexecute=alert(1)><script>1</script>",
    "<keygen autofocus onfocus=alert(1)>",
    "<img src=x:alert(1) onerror=eval(src)>",
]

_URL_SCHEMES = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#x3A;alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript://%0aalert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JAVASCRIPT:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<embed src="javascript:alert(1)">',
    '<object data="javascript:alert(1)"></object>',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
]

_SVG_MATH = [
    "<svg><script>alert(1)</script></svg>",
    "<svg><script href=data:,alert(1) />",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><a xlink:href=javascript:alert(1)><text x=20 y=20>x</text></a></svg>",
    "<svg><set attributeName=onmouseover to=alert(1)>",
    "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>",
    "<svg><use href=data:image/svg+xml,<svg id=x onload=alert(1)></svg>#x />",
    '<svg><image href="x" onerror="alert(1)"/></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math href=javascript:alert(1)>click</math>",
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
]

_BREAKOUTS = [
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onmouseover='alert(1)",
    '" autofocus onfocus="alert(1)',
    '"><img src=x onerror=alert(1)>',
    "'><img src=x onerror=alert(1)>",
    '" style="background:url(javascript:alert(1))',
    '"/><svg onload=alert(1)>',
    "</a><script>alert(1)</script>",
    "</option></select><script>alert(1)</script>",
    "</textarea><img src=x onerror=alert(1)>",
    "</style><script>alert(1)</script>",
    '";alert(1);//',
    "';alert(1);//",
    '\\";alert(1);//',
    "</script><img src=x onerror=alert(1)>",
    '<div style="width:expression(alert(1))">',
    '<p style="background-image:url(javascript:alert(1))">x</p>',
    "{{ 7*7 }}{% debug %}",
    "${alert(1)}",
    "{{constructor.constructor('alert(1)')()}}",
]

_ENCODED = [
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "%253Cscript%253Ealert(1)%253C/script%253E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e",
    "＜script＞alert(1)＜/script＞",
    "<scr\u0000ipt>alert(1)</scr\u0000ipt>".replace("\u0000", ""),
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "<img src=x onerror=\\u0061lert(1)>",
    '<a href="javas&#99;ript:alert(1)">x</a>',
    "<img src=`x` onerror=alert(1)>",
    "<img src=x onerror=alert&lpar;1&rpar;>",
    "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    "<\u200bscript>alert(1)</script>",
    "<script\u00a0>alert(1)</script>",
    "<img src=x one\u0000rror=alert(1)>".replace("\u0000", ""),
]

# Aimed at what techmap lets through: the rich-text allowlist (a, p, blockquote, q, cite with
# href/title), JSON data blocks read by the map scripts, and http(s) URLs put in href.
_ALLOWLIST_EDGES = [
    '<a href="https://example.org/" onclick="alert(1)">x</a>',
    '<a href="https://example.org/" title="&quot;><img src=x onerror=alert(1)>">x</a>',
    '<a title="<img src=x onerror=alert(1)>">x</a>',
    "<p>ok</p><img src=x onerror=alert(1)><p>ok</p>",
    '<blockquote cite="javascript:alert(1)"><q cite="javascript:alert(1)">x</q></blockquote>',
    '<a href="mailto:x@example.org?body=<script>alert(1)</script>">x</a>',
    "</script><!--<script>alert(1)</script>",
    '{"a":"</script><script>alert(1)</script>"}',
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=alert(1) )//%0D%0A%0d%0a//</stYle/"
    "</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert(1)//>\\x3e",
]

# Valid http(s) URLs that break out of an unescaped href: kept apart from PAYLOADS, whose
# users expect every payload to be refused as a source URL.
HTTP_URL_PAYLOADS = [
    'https://example.org/"onmouseover="alert(1)',
    'https://example.org/"><script>alert(1)</script>',
    "https://example.org/'><img/src=x/onerror=alert(1)>",
]

PAYLOADS: list[str] = list(
    dict.fromkeys(
        _SCRIPT_TAGS
        + _EVENT_HANDLERS
        + _URL_SCHEMES
        + _SVG_MATH
        + _BREAKOUTS
        + _ENCODED
        + _ALLOWLIST_EDGES
    )
)

_FORBIDDEN_TAGS = {
    "iframe",
    "object",
    "embed",
    "math",
    "base",
    "template",
    "xss",
    "isindex",
    "keygen",
    "marquee",
    "frame",
    "frameset",
    "applet",
}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


def assert_no_live_markup(html: str) -> None:
    """Fail when the parsed page has an event handler, a forbidden tag, an inline script,
    a style attribute or a script URL: what a payload that escaped escaping would add."""
    page = parse(html)
    assert page.inline_script_text == [], page.inline_script_text[:1]
    for tag, attrs in page.tags:
        assert tag not in _FORBIDDEN_TAGS, f"<{tag}> in page"
        assert not (tag == "meta" and "http-equiv" in attrs), "<meta http-equiv> in page"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            assert name != "style", f"style attribute on <{tag}>"
            if name in _URL_ATTRIBUTES:
                scheme = "".join(value.split()).lower()
                assert not scheme.startswith(("javascript:", "vbscript:", "data:text")), (
                    f"{name}={value!r} on <{tag}>"
                )


def assert_payload_escaped(html: str, payload: str) -> None:
    """A payload that opens a tag must never appear verbatim: it was escaped.

    Quote-only payloads (attribute breakouts) are harmless as text, where a sanitiser may
    leave quotes as they are; in an attribute they would add one, which
    `assert_no_live_markup` catches.
    """
    if "<" in payload:
        assert payload not in html, f"payload rendered raw: {payload!r}"
