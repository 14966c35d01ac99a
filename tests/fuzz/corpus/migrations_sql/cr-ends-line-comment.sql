--TDE INDEon
-- runa commentEol
--ide onTYPE  (*/
-- a
ROLLBACK TO SAVEPOINT ccreate