-- Barcodes this system gives the tubes a collection centre labels itself (LPT00000001 …); pre-printed tubes keep
-- theirs.
CREATE SEQUENCE tube_barcode_seq;
