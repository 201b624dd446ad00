variable "bucket_name" {
  type        = string
  description = "A globally unique bucket name starting with the trust example's bucket_prefix (terrakube-example- by default)."
}
