//! The sink table's rows, `roas_by_campaign` as psql prints it.

/// One row of roas_by_campaign; times in epoch seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RoasRow {
    pub campaign_id: String,
    pub window_start: f64,
    pub window_end: f64,
    pub spend: f64,
    pub revenue: f64,
    pub roas: Option<f64>,
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub written_at: f64,
}

pub(super) const ROW_SQL: &str = "SELECT campaign_id, extract(epoch FROM window_start), \
    extract(epoch FROM window_end), spend, revenue, coalesce(roas::text, ''), impressions, \
    clicks, conversions, extract(epoch FROM written_at) FROM roas_by_campaign \
    ORDER BY window_start, campaign_id";

/// Parses psql -At output of [`ROW_SQL`]-shaped queries.
pub fn parse_rows(out: &str) -> Vec<RoasRow> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            assert_eq!(f.len(), 10, "a roas_by_campaign row: `{l}`");
            let num = |i: usize| -> f64 {
                f[i].parse()
                    .unwrap_or_else(|_| panic!("column {i} of `{l}`"))
            };
            let int = |i: usize| -> i64 {
                f[i].parse()
                    .unwrap_or_else(|_| panic!("column {i} of `{l}`"))
            };
            RoasRow {
                campaign_id: f[0].to_string(),
                window_start: num(1),
                window_end: num(2),
                spend: num(3),
                revenue: num(4),
                roas: (!f[5].is_empty()).then(|| num(5)),
                impressions: int(6),
                clicks: int(7),
                conversions: int(8),
                written_at: num(9),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_from_psql_with_and_without_roas() {
        let out = "brand-search|1796159100.000000|1796159110.000000|36.4|168|4.6|203|30|7|1796159119.25\n\
                   video-launch|1796159100.000000|1796159110.000000|0|0||0|0|0|1796159119.3\n";
        let rows = parse_rows(out);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].campaign_id, "brand-search");
        assert_eq!(rows[0].window_end - rows[0].window_start, 10.0);
        assert_eq!(rows[0].roas, Some(4.6));
        assert_eq!(
            (rows[0].impressions, rows[0].clicks, rows[0].conversions),
            (203, 30, 7)
        );
        assert_eq!(rows[1].roas, None, "an empty column is SQL NULL");
    }
}
