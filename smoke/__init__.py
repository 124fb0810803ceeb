"""The post-deploy smoke suite: read-mostly checks of any deployment of the contract, over HTTP only."""
