-- `activity_piece_seats` (projection `activity.seats`): the seats matching has confirmed on each
-- piece, one row per confirmed match, learned from matching's `SeatTaken` and `SeatFreed`. A
-- piece's confirmed seats are counted from it; `activity_pieces.confirmed`, which nothing fed,
-- goes.
CREATE TABLE activity_piece_seats (
    municipality TEXT NOT NULL,
    piece_id     TEXT NOT NULL,
    match_id     TEXT NOT NULL,
    PRIMARY KEY (municipality, piece_id, match_id)
);
ALTER TABLE activity_pieces DROP COLUMN confirmed;
