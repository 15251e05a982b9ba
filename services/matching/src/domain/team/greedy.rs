//! The baseline: the pieces in order, each seat to the best candidate the team can still take.
//! It ships so that every other method can be compared with it, and it is where the search
//! starts, so no answer is ever worse than it.

use super::{Instance, Team};

/// The baseline team.
pub fn fill(instance: &Instance) -> Team {
    let mut team = Team::empty(instance);
    for (p, piece) in instance.pieces.iter().enumerate() {
        for f in &instance.fits[p] {
            if team.on[p].len() >= piece.seats as usize {
                break;
            }
            if instance.can_take(&team, f.person, p).is_ok() {
                team.add(f.person, p);
            }
        }
    }
    team
}
