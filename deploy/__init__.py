"""Running Beacon distributed: the local Tansu broker and process launcher, and manifests."""
