-- A home collection becomes an order with tubes when the phlebotomist scans them there.
ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check CHECK (status IN ('booked', 'cancelled', 'collected'));
ALTER TABLE bookings ADD COLUMN order_id uuid REFERENCES orders (id);
