"""The JWS algorithm names injector signs with. Standard library only: the settings read them,
and a job minting through the signer must not load `cryptography` to do so."""

RSA_ALGORITHMS = ("RS256", "RS384", "RS512")
# ES256 only: P-256 is the one curve AWS, Azure and Google all accept.
EC_ALGORITHMS = ("ES256",)
ALGORITHMS = RSA_ALGORITHMS + EC_ALGORITHMS
