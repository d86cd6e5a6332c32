"""The process side of secret-injector: the command line and the exec wrapper."""
