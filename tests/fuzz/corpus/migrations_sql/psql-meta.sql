\set ON_ERROR_STOP on
SELECT 1;
\gexec
