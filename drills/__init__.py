"""DR tools for the TRON payment service: backups in mongodump's archive format with a manifest,
restores that verify like a dbHash comparison, backup locations (a directory, S3), and the DR drills
that measure RTO and RPO against harness/objectives.yaml."""
