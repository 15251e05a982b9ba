//! Fairness on a synthetic municipality: 2,000 residents, a fifth engaged in the last 90 days.
//! For the same 100 pieces, the share of top-10 slots going to residents without a recent
//! engagement, and the mean skill fit of those slots, under a score-only policy and under a
//! fairness-weighted one (the default weights). Fairness must raise the share while skill fit
//! drops by no more than 10%. The figures are printed (`--no-capture`) and kept in
//! BENCHMARKS.md.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use mosaic_events::matching::Weights;
use mosaic_matching::domain::Policy;
use mosaic_matching::domain::index::CandidateIndex;
use mosaic_matching::domain::recommend::Factor;

/// Top-10 slots given, the share to residents without a recent engagement, mean skill fit.
fn outcome(index: &CandidateIndex, weights: Weights) -> (usize, f64, f64) {
    let policy = Policy {
        weights,
        ..Policy::default()
    };
    let (mut slots, mut unengaged, mut fit) = (0usize, 0usize, 0u64);
    for target in synthetic::pieces(100, 7) {
        let ranked = index.recommend(&target, &policy, synthetic::today(), 10, None);
        for (id, score) in &ranked.top {
            slots += 1;
            let c = index.get(id.as_str()).expect("a listed resident is held");
            unengaged += usize::from(!synthetic::recently_engaged(c));
            fit += u64::from(
                score
                    .parts
                    .iter()
                    .find(|p| p.factor == Factor::Skill)
                    .map_or(0, |p| p.value),
            );
        }
    }
    let slots_f = slots.max(1) as f64;
    (
        slots,
        unengaged as f64 / slots_f,
        fit as f64 / slots_f / 1000.0,
    )
}

#[test]
fn a_fairness_weighted_policy_reaches_more_people_without_recent_engagements_at_little_cost_in_fit()
{
    let residents = synthetic::residents(2_000, 42);
    let engaged = residents
        .iter()
        .filter(|c| synthetic::recently_engaged(c))
        .count();
    let share_engaged = engaged as f64 / residents.len() as f64;
    assert_eq!(share_engaged, 0.2, "a fifth engaged");
    let mut index = CandidateIndex::default();
    for c in residents {
        index.upsert(c);
    }
    let score_only = Weights {
        fairness_boost: 0,
        offer_dampener: 0,
        ..Weights::default()
    };
    let (slots, share_plain, fit_plain) = outcome(&index, score_only);
    let (_, share_fair, fit_fair) = outcome(&index, Weights::default());
    println!(
        "2,000 residents ({engaged} engaged in the last 90 days), 100 pieces, {slots} top-10 slots"
    );
    println!(
        "score-only policy:        {:.1}% of slots to residents without a recent engagement, \
         mean skill fit {fit_plain:.3}",
        share_plain * 100.0
    );
    println!(
        "fairness-weighted policy: {:.1}% of slots to residents without a recent engagement, \
         mean skill fit {fit_fair:.3} ({:+.1}%)",
        share_fair * 100.0,
        (fit_fair / fit_plain - 1.0) * 100.0
    );
    assert!(
        slots > 500,
        "most pieces fill their top 10, got {slots} slots"
    );
    assert!(
        share_fair > share_plain,
        "fairness must raise the share: {share_plain:.3} → {share_fair:.3}"
    );
    assert!(
        fit_fair >= fit_plain * 0.9,
        "skill fit may drop by at most 10%: {fit_plain:.3} → {fit_fair:.3}"
    );
}
