"""Small HTML inspection helpers for the page and security tests (standard library only)."""

from html.parser import HTMLParser


class PageParser(HTMLParser):
    """Collects the tags, attributes and heading texts of one HTML document."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.h1_texts: list[str] = []
        self.title = ""
        self._open: list[str] = []
        self._inline_script = []
        self._script_type = ""

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag in ("h1", "title", "script"):
            self._open.append(tag)
            if tag == "h1":
                self.h1_texts.append("")
            if tag == "script":
                self._script_type = attributes.get("type", "")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        if "h1" in self._open:
            self.h1_texts[-1] += data
        if self._open and self._open[-1] == "title":
            self.title += data
        executable = self._script_type in ("", "text/javascript", "module")
        if self._open and self._open[-1] == "script" and data.strip() and executable:
            self._inline_script.append(data)

    def find_all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def inline_script_text(self) -> list[str]:
        """The code of inline executable scripts (JSON data blocks are not code)."""
        return self._inline_script


def parse(response_or_html) -> PageParser:
    """Parse a Django test response (or an HTML string)."""
    html = response_or_html
    if not isinstance(html, str):
        html = response_or_html.content.decode()
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser
