CREATE TABLE ${schema}.accounts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
