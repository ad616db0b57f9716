// Package judge decides whether a canary release behaves like the baseline
// it replaces, from samples of the same metrics taken from both, in the
// manner of Netflix Kayenta's NetflixACAJudge (Mann–Whitney classifier,
// weighted-sum scorer, threshold score classifier). It is pure computation:
// no I/O, no clock, no dependency beyond the standard library.
//
// # Per metric
//
// Each metric's canary and baseline samples are prepared and classified
// Pass, High, Low, NoData or NoDataFail:
//
//  1. NaN and ±Inf values are removed (Kayenta's nanStrategy remove).
//  2. With outliers: remove, each sample loses the values outside
//     Q1 − 3·IQR … Q3 + 3·IQR, the fences widened to the sample's 1st and
//     99th percentiles when those lie further out (Kayenta's IQRDetector
//     with reduced sensitivity; quantiles of R's type 7).
//  3. A sample with fewer than min_points values (default 10) leaves the
//     metric NoData — inconclusive, left out of the score — or NoDataFail
//     with must_have_data.
//  4. Identical samples, or a single value across both, pass.
//  5. A two-sided Mann–Whitney U test compares the samples, and the
//     Hodges–Lehmann estimate of the shift canary − baseline (the median of
//     all pairwise differences) gets a confidence interval at confidence
//     (default 0.98) by inverting the test: [D(k), D(mn+1−k)] of the sorted
//     m·n differences. When both samples have fewer than 50 values and no
//     value repeats, the p-value and k come from the exact null
//     distribution of U (computed by recurrence, to about 1e-13); otherwise
//     from the normal approximation with tie and continuity corrections.
//     This is R's wilcox.test(conf.int = TRUE).
//  6. Kayenta's rule: High when the interval's lower bound is above
//     tolerance·|estimate| (tolerance default 0.25) and the effect is large
//     enough: the ratio of the means is at least allowed_increase (default
//     1.0, e.g. 1.10 to fail only at +10%) and the means differ by at least
//     min_effect (default 0). Low symmetrically, with allowed_decrease.
//     direction (increase, decrease or either) says which of the two can
//     fail. Otherwise Pass.
//
// When either mean is zero or negative the ratio is not defined and only
// the interval and min_effect decide, as in Kayenta (which ignores a NaN
// effect size). Every classification carries a reason with the numbers:
//
//	p95-latency: canary 310ms vs baseline 250ms (×1.24, HL shift +58ms, 98% CI [+41ms, +77ms]) — high
//
// Under identical distributions a metric is classified High with
// probability at most (1 − confidence)/2 and Low at most as much again. The
// tolerance rule makes continuous samples far more conservative than that:
// the tests measure 0.2% (30 points) and 0.6% (300 points) over 500 seeds
// at 0.98 with direction either, and about the nominal 2% for counts that
// are mostly zero, where ties at 0 decide. Power, from the same tests: a
// +30% shift of 30 lognormal points with 20% spread is High in 95% of
// seeds (100% with 15% spread), +10% of 300 points in 99%.
//
// Counts with few distinct values (0–3 errors per point) lose power, as in
// Kayenta: the differences move in whole steps, so unless the estimate is
// 0, High needs the interval's lower bound to clear a whole step, not just
// a quarter of the estimate. Errors doubling from 0.5 to 1 per point over
// 30 points are High in only 6% of seeds; judge a rate (errors per
// request) rather than a raw count where you can.
//
// # Score and verdict
//
// Metrics belong to groups (group, default the metric's own name). A
// group's score is Pass/(Pass+High+Low+NoDataFail)×100, or 100 when none of
// its metrics was scored; the canary's score is the sum of group scores
// weighted by the groups' weights, the groups without a configured weight
// sharing what the others leave of 100. Then, in this order:
//
//   - a critical metric that is High, Low or NoDataFail fails the canary
//     with score 0;
//   - 50% or more of the metrics NoData makes it inconclusive with score 0;
//   - a score ≥ pass (default 95) passes, ≥ marginal (default 75) is
//     marginal, which is inconclusive, and below fails;
//   - a passing score with a critical metric that has no data is
//     inconclusive.
//
// Verdict's values are those of shipprod.Verdict.
//
// # Differences from Kayenta
//
//   - The estimate and the interval are exact order statistics of the
//     pairwise differences, selected without materialising them
//     (O((m+n)·log(m·n)) time, O(m+n) memory). Kayenta finds them as roots
//     of the continuity-corrected normal statistic with a Brent solver,
//     always with the normal approximation, and recomputes the tie
//     correction at each trial shift; here the exact distribution is used
//     for small samples and the tie correction is that of the pooled
//     samples. The results agree with R to its root-finding tolerance on
//     Kayenta's own test data.
//   - Ties at the tested bound count one half, as in the rank test, so a
//     metric of mostly-zero counts whose every difference is 0 or positive
//     is High even though its estimate and interval are [0, 0]; Kayenta
//     gets there only through its root finder stopping just above 0.
//   - No Gaussian noise is added to degenerate samples: all-5 against
//     all-3 has an interval of exactly [2, 2].
//   - High also needs the canary's mean to be higher (and Low lower); with
//     the default allowed_increase of 1.0 Kayenta's ratio ≥ 1 says the
//     same whenever the ratio is defined.
//   - min_points (Kayenta judges any non-empty sample) and min_effect are
//     additions; muted metrics, nanStrategy replace, the cles effect size
//     and separate critical thresholds are not offered.
//   - A critical metric without data that need not have it makes the
//     result inconclusive; Kayenta fails the canary.
//   - Half or more NoData gives score 0 as in Kayenta, but the verdict is
//     inconclusive, not failed: nothing was measured, nothing was proven.
//
// The judge checks its configuration once, in New; Judge then cannot fail
// except on samples for a metric it does not know.
package judge
