output "bucket_url" {
  value = google_storage_bucket.example.url
}
