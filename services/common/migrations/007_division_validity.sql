-- When a division exists: a unit counts as expected on date D when
-- valid_from <= D < valid_to. The shipped registry is valid throughout; a
-- deployment's registry may carry valid_from / valid_to columns.
ALTER TABLE divisions
    ADD COLUMN valid_from Date DEFAULT toDate('1970-01-01'),
    ADD COLUMN valid_to Date DEFAULT toDate('2100-01-01');
