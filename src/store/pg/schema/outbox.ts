/**
 * The outbox's own additions to the base schema: the counter of deliveries ever recorded (counts()
 * reads it; pruning the delivery log does not lower it), created once so that settle can add to it in
 * the statement that records the deliveries.
 */
export const OUTBOX_SCHEMA = `
  INSERT INTO meta(key, value) VALUES ('outbox_delivered', 0) ON CONFLICT (key) DO NOTHING;
`;
