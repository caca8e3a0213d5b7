"""Clinical notes: a SOAP draft from a speaker-attributed teleconsult transcript, every sentence traced back to the
lines it came from, so the doctor reviews a draft rather than writing one. Rules only: no model, no network."""
