"""Reference implementation of the TRON payment API (../shared/API.md) on Quart."""

VERSION = "1.0.0"
SERVICE_NAME = "tron-payment-service"
