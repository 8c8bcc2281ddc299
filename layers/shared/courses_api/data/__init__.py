"""Data access: the DynamoDB client, one repository per table, cursors and the read-unit meter."""
