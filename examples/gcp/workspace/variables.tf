variable "bucket_name" {
  type        = string
  description = "A globally unique bucket name."
}

variable "location" {
  type        = string
  default     = "EU"
  description = "Location of the bucket."
}
