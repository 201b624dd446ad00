variable "kv_mount" {
  type        = string
  default     = "secret"
  description = "The KV v2 mount the secret is in."
}

variable "secret_name" {
  type        = string
  default     = "terrakube/simple-cli"
  description = "The secret under the mount; the trust example's policy allows terrakube/*."
}
