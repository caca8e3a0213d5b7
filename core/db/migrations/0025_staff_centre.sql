-- Where a staff member works: their pages show that centre's tubes (NULL: every centre, for the lab-wide roles).
ALTER TABLE staff ADD COLUMN centre_id text REFERENCES centres (id);

-- The bench's worklist: the tubes still in the lab's hands, by centre, oldest first.
CREATE INDEX samples_on_the_bench ON samples (centre_id, collected_at)
    WHERE state IN ('collected', 'in_transit', 'received_at_lab', 'processing', 'completed');
