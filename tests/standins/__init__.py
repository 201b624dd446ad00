"""Strict local stand-ins for the clouds' token services, and the issuer they trust.

Each stand-in checks a web-identity token the way its cloud documents it (the rules cite the
documentation in comments) and answers failures with that cloud's own error codes, so the real
SDKs, run against them, fail exactly as they would in production.
"""
