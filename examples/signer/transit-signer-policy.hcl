# The OpenBao/Vault policy of the signer's own token when its key is a Transit key
# (DynamicCredentialTransit*): sign with the key, read its public part; nothing else. The
# key is made with `bao write -f transit/keys/terrakube-issuer type=rsa-2048` (not exportable:
# the private key never leaves OpenBao). The publisher (`injector publish`/`serve`) needs
# only the second rule. tests/signer/test_transit.py gives this policy to the signer's token.
#   bao policy write injector-signer transit-signer-policy.hcl
#   bao token create -policy=injector-signer -no-default-policy -period=24h -field=token \
#     > /etc/injector/transit.token   # owned by injector-signer, mode 0600
path "transit/sign/terrakube-issuer" {
  capabilities = ["update"]
}

path "transit/keys/terrakube-issuer" {
  capabilities = ["read"]
}
