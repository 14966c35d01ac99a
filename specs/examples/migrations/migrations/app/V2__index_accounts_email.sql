-- CREATE INDEX CONCURRENTLY cannot run in a transaction: this migration
-- runs outside one, statement by statement.
CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);
