import { ukCalendarDate } from '../../lib/uk-time.ts';
import type { ContentSeed } from '../../seeds.ts';
import type { Services } from '../../services.ts';
import { importColumnNames, type ImportColumn, type RawRow } from './plan-import.ts';

/**
 * Example content: the LLR ICS Green Plan (July 2022 – July 2025) with its nine areas of focus and
 * a realistic set of example actions on the themes the plan names (green inhalers, virtual wards,
 * single-use plastics, travel and air pollution, site greening, anaesthetic gases, sustainable
 * procurement, food). The actions, dates, updates and KPI figures are illustrations, not the ICS's
 * real programme or performance, and every page of the plan says so.
 */

export const LLR_PLAN_SLUG = 'llr-ics-green-plan';

type SeedAction = {
  ref: string;
  parent?: string;
  area: string;
  title: string;
  description: string;
  lead: string;
  partners?: string;
  start: string;
  due: string;
  weight?: number;
  milestones?: string[];
  /** Updates in date order: [date, status, progress, narrative]. */
  updates: [string, string, number, string][];
};

const actions: SeedAction[] = [
  {
    ref: 'WSL-01',
    area: 'Workforce and system leadership',
    title: 'Name a board-level net zero lead in every NHS organisation in LLR',
    description:
      'Each partner names an executive lead for its Green Plan and reports progress to its board twice a year.',
    lead: 'QK1',
    partners: 'RWE; RT5',
    start: '2022-07-01',
    due: '2022-12-31',
    milestones: ['2022-09-30 Leads named in the ICB, UHL and LPT (done 2022-09-15)'],
    updates: [
      [
        '2022-09-30',
        'on_track',
        60,
        'Executive leads named at the ICB and UHL; LPT to confirm at its October board.',
      ],
      [
        '2022-12-20',
        'complete',
        100,
        'All three NHS organisations have a named net zero lead reporting to their boards.',
      ],
    ],
  },
  {
    ref: 'WSL-02',
    area: 'Workforce and system leadership',
    title: 'Green champions network across LLR',
    description:
      'Recruit and support staff green champions in hospitals, community services and general practice.',
    lead: 'QK1',
    partners: 'RWE; RT5',
    start: '2022-10-01',
    due: '2025-03-31',
    updates: [
      [
        '2023-03-31',
        'on_track',
        25,
        'First 40 champions recruited; monthly network meeting started.',
      ],
      [
        '2024-03-31',
        'on_track',
        60,
        'Network of 120 champions; quarterly newsletter and a shared ideas board.',
      ],
      [
        '2025-03-31',
        'on_track',
        85,
        'Champions in every acute and community site; general practice recruitment continues.',
      ],
    ],
  },
  {
    ref: 'WSL-03',
    area: 'Workforce and system leadership',
    title: 'Carbon literacy training for senior leaders',
    description:
      'Every executive and non-executive director completes accredited carbon literacy training.',
    lead: 'QK1',
    start: '2023-01-01',
    due: '2024-03-31',
    updates: [
      [
        '2023-06-30',
        'at_risk',
        30,
        'Training booked but attendance from non-executive directors is low; dates offered again.',
      ],
      [
        '2023-12-31',
        'on_track',
        70,
        'Two more cohorts trained; remaining directors booked for February.',
      ],
      [
        '2024-03-28',
        'complete',
        100,
        'All board members across the three NHS organisations have completed the training.',
      ],
    ],
  },
  {
    ref: 'SMC-01',
    area: 'Sustainable models of care',
    title: 'Expand virtual wards to care for patients at home',
    description:
      'Grow virtual ward capacity for frailty and respiratory patients, saving journeys and bed days.',
    lead: 'RWE',
    partners: 'RT5; QK1',
    start: '2022-07-01',
    due: '2025-03-31',
    weight: 2,
    milestones: [
      '2023-03-31 100 virtual ward beds open (done 2023-04-20)',
      '2024-03-31 250 virtual ward beds open (done 2024-03-25)',
    ],
    updates: [
      [
        '2022-12-31',
        'on_track',
        20,
        'Frailty virtual ward live in Leicester City; respiratory pathway in design.',
      ],
      [
        '2023-06-30',
        'at_risk',
        35,
        'Recruitment of clinical staff slower than planned; 100-bed milestone missed by three weeks.',
      ],
      [
        '2024-03-31',
        'on_track',
        70,
        '250 beds open across frailty, respiratory and heart failure.',
      ],
      ['2025-03-31', 'on_track', 90, 'Occupancy above 80%; evaluation of travel saved under way.'],
    ],
  },
  {
    ref: 'SMC-01.1',
    parent: 'SMC-01',
    area: 'Sustainable models of care',
    title: 'Respiratory virtual ward pathway',
    description: 'Remote monitoring of patients with COPD exacerbations, with oximetry at home.',
    lead: 'RWE',
    start: '2022-10-01',
    due: '2024-03-31',
    updates: [
      ['2023-03-31', 'on_track', 40, 'Pathway agreed; oximeters bought.'],
      ['2024-03-31', 'complete', 100, 'Pathway live across LLR.'],
    ],
  },
  {
    ref: 'SMC-01.2',
    parent: 'SMC-01',
    area: 'Sustainable models of care',
    title: 'Measure travel and carbon saved by virtual wards',
    description: 'Estimate patient and staff miles avoided using the NHS England method.',
    lead: 'RWE',
    partners: 'QK1',
    start: '2024-01-01',
    due: '2025-06-30',
    updates: [
      ['2024-06-30', 'on_track', 30, 'Data collection agreed with the virtual ward team.'],
      [
        '2025-03-31',
        'off_track',
        40,
        'Patient postcode data not yet available from the monitoring platform; supplier asked for an extract.',
      ],
    ],
  },
  {
    ref: 'SMC-02',
    area: 'Sustainable models of care',
    title: 'Social prescribing to green spaces',
    description: 'Link patients with nature-based activities through primary care networks.',
    lead: 'QK1',
    partners: 'E06000016; E10000018',
    start: '2023-04-01',
    due: '2025-07-31',
    updates: [
      [
        '2023-09-30',
        'on_track',
        20,
        'Green social prescribing offer mapped with the city and county councils.',
      ],
      [
        '2024-09-30',
        'on_track',
        55,
        'Eight primary care networks refer to walking groups and community gardens.',
      ],
    ],
  },
  {
    ref: 'DT-01',
    area: 'Digital transformation',
    title: 'Paper-light outpatient letters',
    description: 'Send outpatient letters digitally by default, with paper only on request.',
    lead: 'RWE',
    start: '2022-10-01',
    due: '2024-09-30',
    updates: [
      ['2023-03-31', 'on_track', 30, 'Digital letters live in three specialties.'],
      ['2023-12-31', 'on_track', 65, 'Two thirds of specialties send letters digitally.'],
      [
        '2024-09-30',
        'complete',
        100,
        'Digital by default in every specialty; print volumes down by half.',
      ],
    ],
  },
  {
    ref: 'DT-02',
    area: 'Digital transformation',
    title: 'Remote consultations where clinically appropriate',
    description: 'Offer video and telephone appointments to cut patient travel.',
    lead: 'RT5',
    start: '2022-07-01',
    due: '2025-03-31',
    updates: [
      [
        '2023-06-30',
        'on_track',
        50,
        'A third of community mental health appointments offered remotely.',
      ],
      [
        '2024-12-31',
        'on_track',
        80,
        'Remote offer standard across services; patient choice recorded.',
      ],
    ],
  },
  {
    ref: 'STT-01',
    area: 'Travel and transport',
    title: 'Staff travel plan with active travel and public transport incentives',
    description:
      'Cycle schemes, bus discounts and car sharing to cut commuting emissions and improve air quality.',
    lead: 'QK1',
    partners: 'RWE; RT5; E06000016',
    start: '2022-07-01',
    due: '2025-07-31',
    weight: 2,
    milestones: [
      '2023-06-30 Salary sacrifice cycle scheme open to all staff (done 2023-05-31)',
      '2024-06-30 Discounted bus pass agreed with operators (done 2024-09-15)',
    ],
    updates: [
      ['2022-12-31', 'on_track', 15, 'Staff travel survey completed with 4,200 responses.'],
      [
        '2023-09-30',
        'on_track',
        40,
        'Cycle scheme open; secure cycle parking added at two hospital sites.',
      ],
      [
        '2024-06-30',
        'at_risk',
        50,
        'Bus operators have not yet agreed the discounted pass; talks continue.',
      ],
      ['2025-03-31', 'on_track', 75, 'Bus pass live; car sharing platform launched.'],
    ],
  },
  {
    ref: 'STT-02',
    area: 'Travel and transport',
    title: 'Zero-emission fleet vehicles',
    description:
      'Replace NHS fleet and lease cars with zero-emission vehicles and install charge points.',
    lead: 'RWE',
    partners: 'RT5',
    start: '2022-10-01',
    due: '2025-03-31',
    updates: [
      [
        '2023-06-30',
        'on_track',
        25,
        'Ultra-low emission salary sacrifice scheme only; 30 charge points installed.',
      ],
      [
        '2024-06-30',
        'off_track',
        35,
        'Grid capacity at the Glenfield site delays further charge points; fleet replacement paused.',
      ],
      [
        '2025-03-31',
        'off_track',
        45,
        'Network operator upgrade now due in autumn 2025; plan reset with a new date.',
      ],
    ],
  },
  {
    ref: 'STT-03',
    area: 'Travel and transport',
    title: 'Air pollution awareness with patients',
    description:
      'Clean air messages in respiratory clinics and on hospital screens, with the local authorities.',
    lead: 'QK1',
    partners: 'E06000016; E10000018; E06000017',
    start: '2023-04-01',
    due: '2024-03-31',
    updates: [
      ['2023-09-30', 'on_track', 50, 'Clean air day campaign run with all three councils.'],
      ['2024-03-31', 'complete', 100, 'Clean air information in every respiratory clinic.'],
    ],
  },
  {
    ref: 'EF-01',
    area: 'Estates and facilities',
    title: 'Decarbonise heat at hospital sites',
    description:
      'Replace gas boilers with heat pumps and connect to low-carbon heat networks, funded through the Public Sector Decarbonisation Scheme.',
    lead: 'RWE',
    start: '2022-07-01',
    due: '2025-07-31',
    weight: 3,
    milestones: [
      '2023-03-31 Heat decarbonisation plan approved (done 2023-03-20)',
      '2025-03-31 First heat pump scheme commissioned',
    ],
    updates: [
      ['2023-03-31', 'on_track', 20, 'Heat decarbonisation plan approved by the trust board.'],
      [
        '2024-03-31',
        'at_risk',
        35,
        'Funding bid partly successful; scope reduced to one site for this round.',
      ],
      [
        '2025-03-31',
        'at_risk',
        45,
        'Heat pump installation started; commissioning slipped to the summer.',
      ],
    ],
  },
  {
    ref: 'EF-02',
    area: 'Estates and facilities',
    title: 'Eliminate avoidable single-use plastics',
    description:
      'Remove single-use plastic cups, cutlery and catering items and reduce single-use plastics in clinical areas.',
    lead: 'RWE',
    partners: 'RT5',
    start: '2022-07-01',
    due: '2024-12-31',
    updates: [
      [
        '2022-12-31',
        'on_track',
        30,
        'Single-use plastic cutlery and stirrers removed from all catering outlets.',
      ],
      [
        '2023-12-31',
        'on_track',
        70,
        'Reusable cups in staff restaurants; clinical review of single-use items started.',
      ],
      [
        '2024-12-20',
        'complete',
        100,
        'Avoidable catering plastics eliminated; clinical items moved to the procurement action.',
      ],
    ],
  },
  {
    ref: 'EF-03',
    area: 'Estates and facilities',
    title: 'Greening hospital and community sites for patient and staff wellbeing',
    description: 'Gardens, planting and green spaces at hospital and community sites.',
    lead: 'RT5',
    partners: 'RWE',
    start: '2023-04-01',
    due: '2025-07-31',
    updates: [
      ['2023-09-30', 'on_track', 20, 'Site greening plans drawn up with staff and patient groups.'],
      [
        '2024-09-30',
        'on_track',
        55,
        'Two wellbeing gardens opened; tree planting at the Bradgate Unit.',
      ],
      ['2025-06-30', 'on_track', 80, 'Green roof pilot installed; biodiversity survey repeated.'],
    ],
  },
  {
    ref: 'EF-04',
    area: 'Estates and facilities',
    title: 'LED lighting across the estate',
    description: 'Replace remaining fluorescent lighting with LEDs and controls.',
    lead: 'RT5',
    start: '2022-07-01',
    due: '2024-03-31',
    updates: [
      ['2023-03-31', 'on_track', 50, 'Community hospitals complete.'],
      ['2024-03-31', 'complete', 100, 'All sites on LED lighting.'],
    ],
  },
  {
    ref: 'MED-01',
    area: 'Medicines',
    title: 'Lower-carbon inhalers where clinically appropriate',
    description:
      'Support practices to review patients on metered-dose inhalers and offer dry powder or soft mist inhalers where right for them, with better asthma and COPD care.',
    lead: 'QK1',
    start: '2022-07-01',
    due: '2025-07-31',
    weight: 3,
    milestones: [
      '2023-03-31 Respiratory formulary updated (done 2023-02-28)',
      '2024-03-31 Green inhaler reviews offered in every PCN (done 2024-05-10)',
    ],
    updates: [
      ['2022-12-31', 'on_track', 20, 'Inhaler prescribing dashboard shared with every practice.'],
      [
        '2023-09-30',
        'on_track',
        45,
        'Formulary now favours lower-carbon devices; training for practice pharmacists delivered.',
      ],
      [
        '2024-06-30',
        'on_track',
        65,
        'Reviews offered in all primary care networks; MDI share falling each quarter.',
      ],
      [
        '2025-06-30',
        'on_track',
        80,
        'Salbutamol MDIs switched to lower-propellant versions where suitable.',
      ],
    ],
  },
  {
    ref: 'MED-01.1',
    parent: 'MED-01',
    area: 'Medicines',
    title: 'Inhaler recycling and return scheme with community pharmacies',
    description: 'Patients return used inhalers to pharmacies so propellant is captured.',
    lead: 'QK1',
    start: '2023-04-01',
    due: '2025-03-31',
    updates: [
      ['2023-12-31', 'on_track', 40, 'Sixty community pharmacies take part.'],
      [
        '2025-03-31',
        'complete',
        100,
        'Return scheme available in every pharmacy that wanted to join.',
      ],
    ],
  },
  {
    ref: 'MED-02',
    area: 'Medicines',
    title: 'Reduce the impact of anaesthetic gases',
    description:
      'Stop using desflurane, capture nitrous oxide waste and move to lower-carbon anaesthesia.',
    lead: 'RWE',
    start: '2022-07-01',
    due: '2024-12-31',
    weight: 2,
    milestones: [
      '2023-03-31 Desflurane removed from the formulary (done 2023-01-31)',
      '2024-06-30 Nitrous oxide manifold decommissioned (done 2024-08-30)',
    ],
    updates: [
      ['2022-12-31', 'on_track', 40, 'Anaesthetists agreed to stop desflurane; stock run down.'],
      ['2023-06-30', 'on_track', 60, 'Desflurane gone; nitrous oxide leak survey under way.'],
      [
        '2024-06-30',
        'at_risk',
        75,
        'Manifold decommissioning waiting for portable cylinder supply.',
      ],
      ['2024-12-15', 'complete', 100, 'Manifold decommissioned; portable cylinders in use.'],
    ],
  },
  {
    ref: 'MED-03',
    area: 'Medicines',
    title: 'Cut medicines waste',
    description:
      'Repeat prescription reviews and patient messages on ordering only what is needed.',
    lead: 'QK1',
    partners: 'RT5',
    start: '2023-01-01',
    due: '2025-07-31',
    updates: [
      [
        '2023-06-30',
        'not_started',
        0,
        'Waiting for the medicines optimisation team to be fully staffed.',
      ],
      ['2024-03-31', 'on_track', 30, 'Campaign launched with practices and community pharmacies.'],
      [
        '2025-03-31',
        'at_risk',
        45,
        'Waste audits show little change yet; extra reviews in care homes planned.',
      ],
    ],
  },
  {
    ref: 'SCP-01',
    area: 'Supply chain and procurement',
    title: 'Net zero and social value in every tender',
    description:
      'Apply the NHS net zero and social value weighting (at least 10%) to all new procurements.',
    lead: 'RWE',
    partners: 'RT5; QK1',
    start: '2022-07-01',
    due: '2023-12-31',
    updates: [
      [
        '2022-12-31',
        'on_track',
        50,
        'Weighting used in all tenders since April 2022 as national policy requires.',
      ],
      [
        '2023-12-31',
        'complete',
        100,
        'Procurement teams trained; supplier carbon reduction plans checked for contracts over £5 million.',
      ],
    ],
  },
  {
    ref: 'SCP-02',
    area: 'Supply chain and procurement',
    title: 'Switch to reusable clinical products',
    description: 'Reusable sharps bins, tourniquets and theatre gowns where safe.',
    lead: 'RWE',
    start: '2023-04-01',
    due: '2025-03-31',
    updates: [
      ['2023-12-31', 'on_track', 35, 'Reusable sharps bins in all wards.'],
      ['2025-03-31', 'on_track', 75, 'Reusable theatre gowns trial complete; roll-out agreed.'],
    ],
  },
  {
    ref: 'FN-01',
    area: 'Food and nutrition',
    title: 'Healthier, more sustainable menus with local suppliers',
    description:
      'More plant-based options, seasonal menus and local sourcing for patients and staff.',
    lead: 'RWE',
    partners: 'RT5',
    start: '2022-10-01',
    due: '2025-03-31',
    updates: [
      ['2023-06-30', 'on_track', 30, 'Plant-based dish of the day in staff restaurants.'],
      ['2024-06-30', 'on_track', 60, 'Two local dairy and vegetable suppliers contracted.'],
      ['2025-03-31', 'complete', 100, 'New patient menu launched with seasonal and local produce.'],
    ],
  },
  {
    ref: 'FN-02',
    area: 'Food and nutrition',
    title: 'Reduce food waste',
    description:
      'Measure plate and production waste and order to need with electronic meal ordering.',
    lead: 'RWE',
    start: '2023-04-01',
    due: '2025-07-31',
    updates: [
      ['2023-12-31', 'on_track', 25, 'Baseline waste audit complete.'],
      [
        '2024-12-31',
        'off_track',
        35,
        'Electronic meal ordering delayed by the supplier; waste unchanged.',
      ],
    ],
  },
  {
    ref: 'AD-01',
    area: 'Adaptation',
    title: 'Heatwave and flooding risk assessments for every site',
    description:
      'Climate change risk assessments and adaptation plans in line with the Health and Social Care Act duties.',
    lead: 'QK1',
    partners: 'RWE; RT5',
    start: '2023-01-01',
    due: '2025-03-31',
    updates: [
      [
        '2023-06-30',
        'on_track',
        30,
        'Risk assessment method agreed with the local resilience forum.',
      ],
      [
        '2024-06-30',
        'on_track',
        70,
        'Overheating hot spots mapped; cooling plans for the worst wards.',
      ],
      ['2025-03-31', 'complete', 100, 'Adaptation plans approved by each board.'],
    ],
  },
  {
    ref: 'AD-02',
    area: 'Adaptation',
    title: 'Heat-health alerts for vulnerable patients',
    description:
      'Act on UK Health Security Agency heat-health alerts with community teams and care homes.',
    lead: 'RT5',
    partners: 'E06000016; E10000018',
    start: '2023-04-01',
    due: '2024-09-30',
    updates: [
      [
        '2023-09-30',
        'on_track',
        50,
        'Alert cascade to community nursing teams tested in the July heatwave.',
      ],
      ['2024-09-30', 'complete', 100, 'Cascade in place with care homes and both councils.'],
    ],
  },
];

function rowsOf(list: SeedAction[]): RawRow[] {
  return list.map((action, index) => {
    const values = Object.fromEntries(importColumnNames.map((column) => [column, ''])) as Record<
      ImportColumn,
      string
    >;
    Object.assign(values, {
      reference: action.ref,
      parent_reference: action.parent ?? '',
      area: action.area,
      title: action.title,
      description: action.description,
      lead_organisation: action.lead,
      partner_organisations: action.partners ?? '',
      start_date: action.start,
      due_date: action.due,
      status: 'not_started',
      progress_percent: '0',
      weight: String(action.weight ?? 1),
      milestones: (action.milestones ?? []).join('\n'),
    });
    return { row: index + 2, values };
  });
}

const kpis = [
  {
    reference: 'KPI-01',
    name: 'Carbon emissions the LLR NHS controls directly',
    description:
      'Example figures. NHS Carbon Footprint scope (buildings, anaesthetic gases, fleet and inhalers) of the ICB, UHL and LPT.',
    unit: 'tCO2e',
    direction: 'decrease',
    baseline: ['2019-04-01', '98000'],
    targets: '2032-03-31 19600 80% cut\n2040-03-31 0 Net zero',
    points: [
      ['2021-03-31', '93500'],
      ['2022-03-31', '90100'],
      ['2023-03-31', '84200'],
      ['2024-03-31', '80900'],
      ['2025-03-31', '77300'],
    ],
    actions: ['EF-01', 'MED-01', 'MED-02', 'STT-02'],
  },
  {
    reference: 'KPI-02',
    name: 'Metered-dose inhalers as a share of inhalers prescribed',
    description:
      'Example figures. Share of inhalers prescribed in LLR general practice that are metered-dose inhalers.',
    unit: '%',
    direction: 'decrease',
    baseline: ['2021-04-01', '74'],
    targets: '2025-03-31 60 Regional ambition',
    points: [
      ['2022-03-31', '72'],
      ['2022-09-30', '70.5'],
      ['2023-03-31', '68'],
      ['2023-09-30', '66.5'],
      ['2024-03-31', '65'],
      ['2024-09-30', '64'],
      ['2025-03-31', '62.5'],
    ],
    actions: ['MED-01', 'MED-01.1'],
  },
  {
    reference: 'KPI-03',
    name: 'Desflurane as a share of volatile anaesthetic gas used',
    description: 'Example figures. By volume, at University Hospitals of Leicester.',
    unit: '%',
    direction: 'decrease',
    baseline: ['2021-04-01', '12'],
    targets: '2023-03-31 0 Desflurane decommissioned',
    points: [
      ['2022-03-31', '8'],
      ['2022-09-30', '3'],
      ['2023-03-31', '0'],
    ],
    actions: ['MED-02'],
  },
  {
    reference: 'KPI-04',
    name: 'Staff commuting by active travel or public transport',
    description: 'Example figures. From the annual staff travel survey.',
    unit: '%',
    direction: 'increase',
    baseline: ['2022-10-01', '18'],
    targets: '2025-07-31 30',
    points: [
      ['2023-10-01', '20'],
      ['2024-10-01', '22'],
      ['2025-06-30', '24'],
    ],
    actions: ['STT-01'],
  },
];

/** Seeds the example LLR plan through the Green Plan service: plan, actions, updates and KPIs. */
export async function seedLlrGreenPlan(
  services: Services,
): Promise<{ created: number; unchanged: number }> {
  const plans = services.greenPlans;
  const result = await plans.seedPlan(
    {
      slug: LLR_PLAN_SLUG,
      title: 'LLR ICS Green Plan',
      description:
        'Example content: a working example of the Leicester, Leicestershire and Rutland ICS Green Plan tracker. The plan covers July 2022 to July 2025 and follows the nine national areas of focus.\n\nThe actions, owners, updates and figures here are illustrations drawn from the themes of the published plan (green inhalers, virtual wards, single-use plastics, travel and air pollution, site greening, anaesthetic gases, sustainable procurement and food), not the ICS’s real programme or performance.',
      ownerOrganisationCode: 'QK1',
      periodStart: '2022-07-01',
      periodEnd: '2025-07-31',
      status: 'published',
    },
    rowsOf(actions),
  );
  if (!result.created) return { created: 0, unchanged: 1 };
  const today = ukCalendarDate(new Date());
  for (const action of actions) {
    const id = (await plans.findActionIdByReference(result.planId, action.ref))!;
    for (const [date, status, progress, narrative] of action.updates) {
      if (date > today) continue;
      await plans.postUpdate(
        null,
        result.planId,
        id,
        { updateDate: date, narrative, status, progressPercent: String(progress), links: '' },
        [],
        null,
        { system: true },
      );
    }
  }
  for (const kpi of kpis) {
    const kpiId = await plans.createKpi(
      null,
      result.planId,
      {
        reference: kpi.reference,
        name: kpi.name,
        description: kpi.description,
        unit: kpi.unit,
        direction: kpi.direction,
        baselineDate: kpi.baseline[0]!,
        baselineValue: kpi.baseline[1]!,
        targets: kpi.targets,
      },
      null,
      { system: true },
    );
    for (const [observedOn, value] of kpi.points) {
      if (observedOn! > today) continue;
      await plans.recordDataPoint(
        null,
        result.planId,
        kpiId,
        { observedOn: observedOn!, value: value!, note: 'Example figure' },
        null,
        { system: true },
      );
    }
    for (const reference of kpi.actions)
      await plans.linkKpiToAction(null, result.planId, kpiId, reference, null, { system: true });
  }
  return { created: 1, unchanged: 0 };
}

export const llrGreenPlanSeed: ContentSeed = {
  name: 'LLR ICS Green Plan (example content)',
  // The whole plan is example content.
  run: (services, options) =>
    options.examples ? seedLlrGreenPlan(services) : Promise.resolve({ created: 0, unchanged: 0 }),
};
