-- The spend ledger's flush watermark (src/spend/ledger.ts): the highest `spend` rowid when a flush began, taken
-- in the flush's own transaction, so that its rollup counts exactly the rows it inserted without writing each
-- of them a second time to mark it. One row.
CREATE TABLE spend_mark (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  max_rowid INTEGER NOT NULL
);
