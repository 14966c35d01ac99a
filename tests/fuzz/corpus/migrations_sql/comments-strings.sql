/* outer /* nested ; */ still a comment ; */
-- a line comment ; with a semicolon
SELECT 'it''s; fine', E'\x41\';', U&'d\0061t\+000061', $$;$$, "quoted;ident";
SELECT 1 /* trailing */ ;
;;
