"""Local stand-ins for AWS: DynamoDB Local and an in-process Lambda invoker."""
