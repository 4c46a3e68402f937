"""Constants and helpers the submission tests share."""

import urllib.error
import urllib.parse
import urllib.request

SUBMIT = "/submit/"
ADDRESS = "203.0.113.7"
EMAIL = "private.person@example.net"


def post(client, data, address=ADDRESS, **extra):
    return client.post(SUBMIT, data, REMOTE_ADDR=address, **extra)


def code_from(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    query = urllib.parse.urlsplit(response["Location"]).query
    return urllib.parse.parse_qs(query)["code"][0]
