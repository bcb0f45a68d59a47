"""mcp_server_tokendemo: the Python twin of the Node demo server (see __main__.py)."""
