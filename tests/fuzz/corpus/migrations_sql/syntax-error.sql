CREATE TABLE ok (id int);
CREATE TABLE broken (id int,;
SELECT 1;
