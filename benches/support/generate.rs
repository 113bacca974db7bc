//! A deterministic, seeded generator of synthetic deal files for the benchmarks, the
//! `generate_deals` example and the generator's test.
//!
//! The same seed and sizes always give the same bytes. Deals are of mixed kinds, with the field
//! names of the shipped rule pack (`rules/`). Background deals never close a loop of money: every
//! flow of `rules/flows.rules` (investor -> investee, buyer -> seller, lessee -> lessor, grantor
//! -> holder, issuer -> holder) goes from an entity of lower rank to one of higher rank, in a
//! random ranking, so the flow graph of the background is acyclic. Every loop in the output is
//! planted, on entities of its own:
//!
//! - `vendor_pairs` vendor-financing pairs: an investment I -> E and a purchase or cloud contract
//!   with buyer E and seller I (a 2-hop cycle of `flow` as well);
//! - `cycles` cycles of 2 to 5 hops (lengths in turn), of kinds that no join rule of the pack
//!   matches, so each is one `circular_flow` finding and nothing else;
//! - `long_cycles` cycles of 6 hops, beyond `max 5 hops`: they must not be found.
//!
//! So `vendor_financing` fires exactly `vendor_pairs` times, `self_supplied_investment` on every
//! other of those pairs (`vendor_pairs.div_ceil(2)` times), and `circular_flow` exactly
//! `vendor_pairs + cycles` times. Money is written in the deal-file notation from integer US
//! dollars; no float is used anywhere.

use std::fmt::Write as _;

/// A small, fast, seeded pseudo-random generator (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index in `0..n` (`n > 0`).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `percent / 100`.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An index in `0..n` skewed towards 0 (density about `ln(n / i)`): a few entities take
    /// part in many deals, most in a few.
    pub fn skewed(&mut self, n: usize) -> usize {
        let u = self.index(n);
        self.index(u + 1)
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }
}

/// The deal kinds generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// investor -> investee
    Investment,
    /// buyer -> seller
    Purchase,
    /// buyer -> seller
    CloudContract,
    /// lessee -> lessor
    Lease,
    /// grantor -> holder
    WarrantGrant,
    /// issuer -> holder
    ShareIssuance,
    /// lender -> borrower (not a flow of the pack)
    Loan,
}

impl Kind {
    /// The `kind:` symbol.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Investment => "investment",
            Kind::Purchase => "purchase",
            Kind::CloudContract => "cloud_contract",
            Kind::Lease => "lease",
            Kind::WarrantGrant => "warrant_grant",
            Kind::ShareIssuance => "share_issuance",
            Kind::Loan => "loan",
        }
    }

    /// The party fields: (the one money or value leaves, the one it goes to).
    pub fn parties(self) -> (&'static str, &'static str) {
        match self {
            Kind::Investment => ("investor", "investee"),
            Kind::Purchase | Kind::CloudContract => ("buyer", "seller"),
            Kind::Lease => ("lessee", "lessor"),
            Kind::WarrantGrant => ("grantor", "holder"),
            Kind::ShareIssuance => ("issuer", "holder"),
            Kind::Loan => ("lender", "borrower"),
        }
    }

    /// Whether `rules/flows.rules` derives a `flow` row from this kind.
    pub fn is_flow(self) -> bool {
        self != Kind::Loan
    }
}

/// Background kinds and their weights (percent).
const KIND_WEIGHTS: [(Kind, u64); 7] = [
    (Kind::Investment, 20),
    (Kind::Purchase, 30),
    (Kind::CloudContract, 18),
    (Kind::Lease, 10),
    (Kind::Loan, 8),
    (Kind::WarrantGrant, 5),
    (Kind::ShareIssuance, 9),
];

const TYPES: [&str; 4] = ["company", "company", "company", "fund"];
const SECTORS: [&str; 7] = [
    "semiconductors",
    "cloud",
    "ai_lab",
    "energy",
    "real_estate",
    "networking",
    "software",
];
const GOODS: [&str; 5] = [
    "gpus",
    "ai_systems",
    "networking",
    "memory",
    "power_equipment",
];
const PROCEEDS: [&str; 3] = ["purchase", "capex", "working_capital"];
const TRIGGERS: [&str; 4] = [
    "time",
    "revenue_milestone",
    "deployment_of_investor_product",
    "purchase_volume",
];

/// One entity.
#[derive(Clone, Debug)]
pub struct Entity {
    /// The id (`e0000042`): ids sort as their numbers.
    pub id: String,
    /// `company`, `fund` or `spv`.
    pub ty: &'static str,
    /// The sector.
    pub sector: &'static str,
    /// Size: the 2025 revenue in whole US dollars, known or not.
    pub size: i64,
    /// 2025 revenue in whole US dollars, when known.
    pub revenue_2025: Option<i64>,
    /// Remaining performance obligation in whole US dollars, when known.
    pub rpo: Option<i64>,
    /// Share price in US cents per share, when listed.
    pub share_price_cents: Option<i64>,
}

/// One deal.
#[derive(Clone, Debug)]
pub struct Deal {
    /// The id (`d0000042`): ids sort as their numbers.
    pub id: String,
    /// The kind.
    pub kind: Kind,
    /// Index of the entity money or value leaves (investor, buyer, lessee, grantor, issuer,
    /// lender).
    pub from: usize,
    /// Index of the entity it goes to (investee, seller, lessor, holder, borrower).
    pub to: usize,
    /// Amount in whole US dollars; `None` when undisclosed.
    pub amount: Option<i64>,
    /// Whether the amount is an `up to` ceiling.
    pub ceiling: bool,
    /// Yearly amount in whole US dollars (purchases and cloud contracts).
    pub annual_amount: Option<i64>,
    /// `definitive` or `letter_of_intent`.
    pub status: &'static str,
    /// The letter of intent this deal makes definitive.
    pub agreement: Option<usize>,
    /// Announcement date.
    pub announced: (u16, u8, u8),
    /// Other fields, as (name, deal-file value text).
    pub extra: Vec<(&'static str, String)>,
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Entities in all (background and planted).
    pub entities: usize,
    /// Deals in all (background and planted).
    pub deals: usize,
    /// The seed.
    pub seed: u64,
    /// Planted vendor-financing pairs.
    pub vendor_pairs: usize,
    /// Planted cycles of 2 to 5 hops.
    pub cycles: usize,
    /// Planted cycles of 6 hops (not found with `max 5 hops`).
    pub long_cycles: usize,
}

impl Config {
    /// `deals` deals over `deals / 5` entities (at least 50), with one planted vendor-financing
    /// pair and one planted cycle per 1,000 deals (at least 5 each) and a 6-hop cycle per
    /// 10,000 (at least 1).
    pub fn new(deals: usize, seed: u64) -> Self {
        let mut config = Config {
            entities: (deals / 5).max(50),
            deals,
            seed,
            vendor_pairs: (deals / 1000).max(5),
            cycles: (deals / 1000).max(5),
            long_cycles: (deals / 10_000).max(1),
        };
        // Enough background entities beside the planted ones (for fewer than 255 deals, 50
        // were one short).
        config.entities = config.entities.max(config.planted_entities() + 10);
        config
    }

    /// Entities the planted structures use.
    pub fn planted_entities(&self) -> usize {
        2 * self.vendor_pairs + 7 * self.cycles / 2 + 6 * self.long_cycles + 8
    }

    /// Deals the planted structures use.
    pub fn planted_deals(&self) -> usize {
        2 * self.vendor_pairs + 7 * self.cycles / 2 + 6 * self.long_cycles + 8
    }
}

/// A generated data set.
#[derive(Clone, Debug)]
pub struct Data {
    /// The entities, background first, then planted.
    pub entities: Vec<Entity>,
    /// The deals, in id order.
    pub deals: Vec<Deal>,
    /// Planted vendor-financing pairs: (investment, purchase) deal indexes.
    pub vendor_pairs: Vec<(usize, usize)>,
    /// Planted cycles of 2 to 5 hops, as entity indexes from the first.
    pub cycles: Vec<Vec<usize>>,
}

/// A number about log-uniform between 10^lo and 10^hi, with three significant digits.
fn log_uniform(rng: &mut Rng, lo: u32, hi: u32) -> i64 {
    let exp = lo + rng.below(u64::from(hi - lo)) as u32;
    let mantissa = 100 + rng.below(900) as i64;
    mantissa * 10i64.pow(exp) / 100
}

/// `x` rounded down to three significant digits.
fn round3(x: i64) -> i64 {
    let mut unit = 1;
    while x / unit >= 1000 {
        unit *= 10;
    }
    x / unit * unit
}

/// A deal amount for parties whose smaller 2025 revenue is `scale`: mostly 0.01% to 10% of it,
/// and in 3 deals of 100 from 10% to 2000% (the commitments far above revenue the pack flags).
fn deal_amount(rng: &mut Rng, scale: i64) -> i64 {
    let basis_points = if rng.percent(97) {
        log_uniform(rng, 0, 3)
    } else {
        log_uniform(rng, 3, 5) * 2
    };
    round3((i128::from(scale) * i128::from(basis_points.max(1)) / 10_000).max(1_000_000) as i64)
}

fn date(rng: &mut Rng) -> (u16, u8, u8) {
    (
        2023 + rng.below(3) as u16,
        1 + rng.below(12) as u8,
        1 + rng.below(28) as u8,
    )
}

/// Generates the data set described by `config`.
///
/// # Panics
/// When the sizes leave fewer than 10 background entities or no background deal.
pub fn generate(config: &Config) -> Data {
    let mut rng = Rng::new(config.seed);
    let planted_entities = config.planted_entities();
    assert!(
        config.entities >= planted_entities + 10,
        "--entities must be at least {} for these planted structures",
        planted_entities + 10
    );
    assert!(
        config.deals > config.planted_deals(),
        "--deals must be more than {}",
        config.planted_deals()
    );
    let width = 7.max(config.entities.max(config.deals).to_string().len());
    let mut entities: Vec<Entity> = (0..config.entities)
        .map(|i| {
            let ty = if i >= config.entities - planted_entities {
                "company"
            } else if rng.percent(3) {
                "spv"
            } else {
                rng.pick(&TYPES)
            };
            // Firm sizes follow Zipf's law: the entities that take part in the most deals (the
            // smallest indexes, see `Rng::skewed`) are the largest.
            let jitter = 50 + rng.below(150) as i64;
            let size = round3((1_000_000_000_000 / (i as i64 + 1) * jitter / 100).max(5_000_000));
            Entity {
                id: format!("e{i:0width$}"),
                ty,
                sector: rng.pick(&SECTORS),
                size,
                revenue_2025: rng.percent(95).then_some(size),
                rpo: rng
                    .percent(95)
                    .then(|| round3(size * (100 + rng.below(300) as i64) / 100)),
                share_price_cents: rng.percent(40).then(|| 100 + rng.below(50_000) as i64),
            }
        })
        .collect();
    let background = config.entities - planted_entities;
    // A random ranking of the background entities: flows go from lower to higher rank.
    let mut rank: Vec<usize> = (0..background).collect();
    for i in (1..background).rev() {
        let j = rng.index(i + 1);
        rank.swap(i, j);
    }

    let mut deals: Vec<Deal> = Vec::with_capacity(config.deals);
    let mut lois: Vec<usize> = Vec::new();
    let background_deals = config.deals - config.planted_deals();
    while deals.len() < background_deals {
        let n = deals.len();
        // A definitive agreement that follows an earlier letter of intent.
        if !lois.is_empty() && rng.percent(1) {
            let loi = lois.swap_remove(rng.index(lois.len()));
            let mut d = deals[loi].clone();
            d.id = format!("d{n:0width$}");
            d.status = "definitive";
            d.agreement = Some(loi);
            d.ceiling = false;
            d.announced = date(&mut rng);
            deals.push(d);
            continue;
        }
        let mut roll = rng.below(100);
        let mut kind = Kind::Loan;
        for (k, w) in KIND_WEIGHTS {
            if roll < w {
                kind = k;
                break;
            }
            roll -= w;
        }
        let a = rng.skewed(background);
        let mut b = rng.skewed(background);
        while b == a {
            b = rng.index(background);
        }
        let (from, to) = if kind == Kind::Loan || rank[a] < rank[b] {
            (a, b)
        } else {
            (b, a)
        };
        let scale = entities[from].size.min(entities[to].size);
        let mut d = deal(&mut rng, n, width, kind, from, to, scale);
        if rng.percent(2) {
            d.status = "letter_of_intent";
            lois.push(n);
        }
        if kind == Kind::Investment {
            // Proceeds go to some supplier other than the investor.
            let mut s = rng.skewed(background);
            while s == from {
                s = rng.index(background);
            }
            let supplier = entities[s].id.clone();
            d.extra.push(("proceeds_supplier", supplier));
        }
        deals.push(d);
    }

    // Planted structures, each on entities of its own.
    let mut next_entity = background;
    let mut fresh = |k: usize| {
        let v: Vec<usize> = (next_entity..next_entity + k).collect();
        next_entity += k;
        v
    };
    let mut vendor_pairs = Vec::new();
    for i in 0..config.vendor_pairs {
        let p = fresh(2);
        let (investor, investee) = (p[0], p[1]);
        let n = deals.len();
        let mut inv = deal(
            &mut rng,
            n,
            width,
            Kind::Investment,
            investor,
            investee,
            1_000_000_000,
        );
        // Every other planted investment names its own investor as the supplier its proceeds
        // pay (`self_supplied_investment`); the others a background entity.
        let supplier = if i % 2 == 0 { investor } else { 0 };
        inv.extra
            .push(("proceeds_supplier", entities[supplier].id.clone()));
        deals.push(inv);
        let kind = if i % 2 == 0 {
            Kind::Purchase
        } else {
            Kind::CloudContract
        };
        deals.push(deal(
            &mut rng,
            n + 1,
            width,
            kind,
            investee,
            investor,
            1_000_000_000,
        ));
        vendor_pairs.push((n, n + 1));
    }
    let mut cycles = Vec::new();
    let loop_kinds = [
        Kind::Investment,
        Kind::Purchase,
        Kind::CloudContract,
        Kind::Lease,
        Kind::WarrantGrant,
        Kind::ShareIssuance,
    ];
    let plant = |nodes: &[usize], deals: &mut Vec<Deal>, rng: &mut Rng| {
        let k = nodes.len();
        for h in 0..k {
            let kind = if k == 2 {
                // No pair of these joins in a rule of the pack other than `circular_flow`.
                [Kind::Investment, Kind::Lease][h]
            } else {
                rng.pick(&loop_kinds)
            };
            let n = deals.len();
            let d = deal(
                rng,
                n,
                width,
                kind,
                nodes[h],
                nodes[(h + 1) % k],
                1_000_000_000,
            );
            deals.push(d);
        }
    };
    for i in 0..config.cycles {
        let nodes = fresh(2 + i % 4);
        plant(&nodes, &mut deals, &mut rng);
        cycles.push(nodes);
    }
    for _ in 0..config.long_cycles {
        let nodes = fresh(6);
        plant(&nodes, &mut deals, &mut rng);
    }
    // The investments of planted cycles pay a background supplier.
    for d in &mut deals[background_deals..] {
        if d.kind == Kind::Investment && !d.extra.iter().any(|(k, _)| *k == "proceeds_supplier") {
            d.extra.push(("proceeds_supplier", entities[0].id.clone()));
        }
    }
    // Pad with background deals up to the exact count.
    while deals.len() < config.deals {
        let n = deals.len();
        let a = rng.index(background);
        let mut b = rng.index(background);
        while b == a {
            b = rng.index(background);
        }
        let (from, to) = if rank[a] < rank[b] { (a, b) } else { (b, a) };
        let scale = entities[from].size.min(entities[to].size);
        deals.push(deal(&mut rng, n, width, Kind::Purchase, from, to, scale));
    }
    for e in &mut entities[background..] {
        e.size = 1_000_000_000;
        e.revenue_2025 = Some(e.size);
        e.rpo = Some(4 * e.size);
    }
    Data {
        entities,
        deals,
        vendor_pairs,
        cycles,
    }
}

/// One deal of `kind` from entity `from` to entity `to`, with the fields of its kind, for parties
/// whose smaller revenue is `scale`.
fn deal(
    rng: &mut Rng,
    n: usize,
    width: usize,
    kind: Kind,
    from: usize,
    to: usize,
    scale: i64,
) -> Deal {
    let amount_value = deal_amount(rng, scale);
    let mut extra = Vec::new();
    let mut annual_amount = None;
    match kind {
        Kind::Investment => {
            extra.push(("instrument", "equity".to_string()));
            extra.push(("use_of_proceeds", rng.pick(&PROCEEDS).to_string()));
            if rng.percent(2) {
                let trigger = rng.pick(&TRIGGERS);
                extra.push((
                    "tranches",
                    format!(
                        "[{{ amount: {}  trigger: {trigger} }}]",
                        money(amount_value / 10)
                    ),
                ));
            }
        }
        Kind::Purchase | Kind::CloudContract => {
            let years = 1 + rng.below(10) as i64;
            if rng.percent(97) {
                annual_amount = Some(amount_value / years);
            }
            if kind == Kind::Purchase {
                extra.push(("goods", rng.pick(&GOODS).to_string()));
            } else {
                extra.push(("goods", "compute".to_string()));
                extra.push(("capacity", format!("{} MW", 10 + rng.below(2000))));
            }
            extra.push(("term", format!("{years} years")));
        }
        Kind::Lease => {
            extra.push(("term", format!("{} years", 3 + rng.below(18))));
        }
        Kind::WarrantGrant => {
            extra.push(("shares", format!("{}M shares", 1 + rng.below(200))));
            let price = if rng.percent(10) {
                "0.01 USD/share".to_string()
            } else {
                format!("{} USD/share", 5 + rng.below(300))
            };
            extra.push(("exercise_price", price));
            if rng.percent(20) {
                let trigger = rng.pick(&TRIGGERS);
                extra.push((
                    "vesting",
                    format!(
                        "[{{ shares: {}M shares  trigger: {trigger} }}]",
                        1 + rng.below(50)
                    ),
                ));
            }
        }
        Kind::ShareIssuance => {
            extra.push(("shares", format!("{}M shares", 1 + rng.below(500))));
        }
        Kind::Loan => {
            extra.push(("rate", format!("{}%", 3 + rng.below(9))));
        }
    }
    Deal {
        id: format!("d{n:0width$}"),
        kind,
        from,
        to,
        amount: rng.percent(98).then_some(amount_value),
        ceiling: rng.percent(1),
        annual_amount,
        status: "definitive",
        agreement: None,
        announced: date(rng),
        extra,
    }
}

/// Whole US dollars in the deal-file notation, with a scale word: `12.5M USD`, `3B USD`.
pub fn money(dollars: i64) -> String {
    let (scale, word) = if dollars >= 1_000_000_000 && dollars % 10_000_000 == 0 {
        (1_000_000_000, "B")
    } else if dollars >= 1_000_000 && dollars % 1_000 == 0 {
        (1_000_000, "M")
    } else {
        (1, "")
    };
    let whole = dollars / scale;
    let frac = dollars % scale;
    if frac == 0 {
        return format!("{whole}{word} USD");
    }
    let digits = scale.to_string().len() - 1;
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}{word} USD", frac.trim_end_matches('0'))
}

impl Data {
    /// The fields of entity `i`, as (name, deal-file value text), in a fixed order.
    pub fn entity_fields(&self, i: usize) -> Vec<(&'static str, String)> {
        let e = &self.entities[i];
        let mut out = vec![("type", e.ty.to_string()), ("sector", e.sector.to_string())];
        if let Some(r) = e.revenue_2025 {
            out.push(("revenue_2025", money(r)));
        }
        if let Some(r) = e.rpo {
            out.push(("rpo", money(r)));
        }
        if let Some(p) = e.share_price_cents {
            out.push((
                "share_price",
                format!("{}.{:02} USD/share", p / 100, p % 100),
            ));
        }
        out
    }

    /// The title of deal `i`.
    pub fn deal_title(&self, i: usize) -> String {
        let d = &self.deals[i];
        let (from, to) = (&self.entities[d.from].id, &self.entities[d.to].id);
        match d.kind {
            Kind::Investment => format!("{from} invests in {to}"),
            Kind::Purchase => format!("{from} buys goods from {to}"),
            Kind::CloudContract => format!("{from} contracts compute from {to}"),
            Kind::Lease => format!("{from} leases capacity from {to}"),
            Kind::WarrantGrant => format!("{from} grants warrants to {to}"),
            Kind::ShareIssuance => format!("{from} issues shares to {to}"),
            Kind::Loan => format!("{from} lends to {to}"),
        }
    }

    /// The fields of deal `i`, as (name, deal-file value text), in a fixed order.
    pub fn deal_fields(&self, i: usize) -> Vec<(&'static str, String)> {
        let d = &self.deals[i];
        let (pf, pt) = d.kind.parties();
        let mut out = vec![
            ("kind", d.kind.name().to_string()),
            (pf, self.entities[d.from].id.clone()),
            (pt, self.entities[d.to].id.clone()),
        ];
        if let Some(a) = d.amount {
            let m = money(a);
            out.push(("amount", if d.ceiling { format!("up to {m}") } else { m }));
        }
        if let Some(a) = d.annual_amount {
            out.push(("annual_amount", money(a)));
        }
        let (y, m, day) = d.announced;
        out.push(("announced", format!("{y}-{m:02}-{day:02}")));
        out.push(("status", d.status.to_string()));
        if let Some(a) = d.agreement {
            out.push(("agreement", self.deals[a].id.clone()));
        }
        out.extend(d.extra.iter().cloned());
        out
    }

    /// The data set as a deal file.
    pub fn to_deals(&self) -> String {
        let mut out = String::with_capacity(self.deals.len() * 260 + self.entities.len() * 120);
        out.push_str(
            "// Synthetic deals from the seeded generator (benches/support/generate.rs).\n\n",
        );
        for i in 0..self.entities.len() {
            let _ = write!(out, "entity {} {{", self.entities[i].id);
            for (k, v) in self.entity_fields(i) {
                let _ = write!(out, "  {k}: {v}");
            }
            out.push_str(" }\n");
        }
        for i in 0..self.deals.len() {
            let _ = writeln!(
                out,
                "\ndeal {} \"{}\" {{",
                self.deals[i].id,
                self.deal_title(i)
            );
            for (k, v) in self.deal_fields(i) {
                let _ = writeln!(out, "  {k}: {v}");
            }
            out.push_str("}\n");
        }
        out
    }

    /// The data set as a CSV table (docs/inputs.md): one row per entity or deal.
    pub fn to_csv(&self) -> String {
        let mut columns: Vec<&'static str> = Vec::new();
        let mut rows: Vec<CsvRow> = Vec::new();
        for i in 0..self.entities.len() {
            rows.push((
                self.entities[i].id.clone(),
                "entity",
                String::new(),
                self.entity_fields(i),
            ));
        }
        for i in 0..self.deals.len() {
            rows.push((
                self.deals[i].id.clone(),
                "deal",
                self.deal_title(i),
                self.deal_fields(i),
            ));
        }
        for (_, _, _, fields) in &rows {
            for (k, _) in fields {
                if !columns.contains(k) {
                    columns.push(k);
                }
            }
        }
        let mut out = String::from("id,fact,title");
        for c in &columns {
            out.push(',');
            out.push_str(c);
        }
        out.push('\n');
        for (id, fact, title, fields) in &rows {
            out.push_str(&csv_cell(id));
            out.push(',');
            out.push_str(fact);
            out.push(',');
            out.push_str(&csv_cell(title));
            for c in &columns {
                out.push(',');
                if let Some((_, v)) = fields.iter().find(|(k, _)| k == c) {
                    out.push_str(&csv_cell(v));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// One CSV row: id, `fact` cell, title, fields.
type CsvRow = (String, &'static str, String, Vec<(&'static str, String)>);

/// A CSV cell, quoted when it holds a comma, a quote or a line end (RFC 4180).
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
