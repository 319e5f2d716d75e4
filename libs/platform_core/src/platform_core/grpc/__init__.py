"""gRPC plumbing shared by every service: call context, error mapping, servers and channels."""
