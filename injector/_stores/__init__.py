"""One module per secret store. Each turns the store's HTTP errors into our exception classes at one boundary."""
