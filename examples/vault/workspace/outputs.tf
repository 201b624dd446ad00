output "secret_keys" {
  description = "The keys of the secret read (never its values)."
  value       = keys(data.vault_kv_secret_v2.example.data)
}
