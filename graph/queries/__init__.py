"""Root query fields, one module per domain; `graph.schema` joins them into `Query`."""
