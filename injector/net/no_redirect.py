"""urllib's redirect handler, switched off: urllib follows a 302 to any host, plain http://
included, with the request's headers (a bearer token) and body. A call that carries a secret
sends it to the URL it was given and nowhere else. Standard library only."""

from __future__ import annotations

import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answers a redirect as the error it is, instead of following it."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
