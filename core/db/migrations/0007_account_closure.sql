-- A patient may close their portal account: contact details are erased, medical records are kept.
ALTER TABLE patients ADD COLUMN closed_at timestamptz;
