CREATE OR REPLACE VIEW account_names AS
	SELECT id, coalesce(name, email) AS display_name FROM accounts;
