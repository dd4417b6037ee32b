import type { SeedOptions } from '../../seeds.ts';
import type { Services } from '../../services.ts';
import type { Actor } from '../access/policy.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import type { ContentType } from './content-types.ts';
import type { ContentInput } from './content.service.ts';

/**
 * The workspace page Greenspace started from, as real content: the LLR ICS Green Plan page and
 * document entry, the two "How we are going green" videos (entries only: no media file exists, so
 * their transcripts are marked as placeholders), the reducing health inequalities and Greener
 * General Practices pages, and the news release. Then a handful of example case studies and an
 * event, each labelled as an example with illustrative figures.
 */

/** Seeds act as the platform itself: no user, every right, nothing attributed to a person. */
const SYSTEM_ACTOR: Actor = {
  userId: '',
  email: '',
  displayName: 'Greenspace',
  isPlatformAdmin: true,
  twoFactorEnabled: true,
  memberships: [],
  workspaceIds: [],
};

const LLR = 'QK1';

interface SeedItem {
  externalRef: string;
  type: ContentType;
  isExample: boolean;
  input: Partial<ContentInput> & Pick<ContentInput, 'title' | 'summary'>;
}

const areaSlug = (name: string) => nationalAreasOfFocus.find((area) => area.name === name)!.slug;
const allAreas = nationalAreasOfFocus.map((area) => area.slug);

const PLACEHOLDER_TRANSCRIPT = (speaker: string, topic: string) =>
  `**Transcript placeholder.** The video of ${speaker} on ${topic} has not been added to Greenspace yet, so there is no recording or transcript here. When the video is added, its WebVTT captions and full transcript will be published on this page.`;

export const seedItems: SeedItem[] = [
  {
    externalRef: 'seed:page:llr-ics-green-plan',
    type: 'page',
    isExample: false,
    input: {
      title: 'LLR ICS Green Plan',
      summary:
        'The Leicester, Leicestershire and Rutland ICS Green Plan (July 2022 – July 2025): the collective vision and actions of the integrated care system for a net zero NHS.',
      areas: allAreas,
      tags: 'green plan',
      body: [
        'The LLR ICS (Leicester, Leicestershire and Rutland Integrated Care System) Green Plan covers a three-year period (July 2022 – July 2025) in line with the National Health Service (NHS) requirement to create a plan aligned to the goal of ‘Delivering a Net Zero National Health Service’.',
        '',
        'The Green Plan sets out a collective vision and the actions that the ICS will take, to support national and regional NHS targets for carbon reduction; prioritising interventions which simultaneously improve patient care and community wellbeing while tackling climate change and broader sustainability issues across LLR. The Plan also sets out collaborative efforts by ICS members and LLR partners to achieve desired outcomes in a cost-effective and efficient manner.',
        '',
        'The Plan addresses wider sustainability priorities including carbon emissions, waste, elimination of single use plastic, travel and air pollution, site greening for patient and staff wellbeing, sustainable models of care across the region and collective efforts to reduce the impacts of medical processes (particularly anaesthetics) and the use of sustainable medicines, and sustainable procurement. It is built upon the foundations of the existing UHL (University Hospitals of Leicester NHS Trust) and LPT (Leicestershire Partnership NHS Trust) Green Plans.',
        '',
        '## Areas of focus',
        '',
        'The Green Plan follows a national NHS framework based on the following areas, alongside a summary of key actions the system will take over the three years:',
        '',
        ...nationalAreasOfFocus.map(
          (area) => `- [${area.llrHeading}](/areas-of-focus/${area.slug})`,
        ),
        '',
        '## The plan document',
        '',
        'See [the LLR ICS Green Plan document](/documents/llr-ics-green-plan-2022-2025).',
      ].join('\n'),
    },
  },
  {
    externalRef: 'seed:document:llr-ics-green-plan',
    type: 'document',
    isExample: false,
    input: {
      title: 'LLR ICS Green Plan 2022–2025',
      summary:
        'The Green Plan of the Leicester, Leicestershire and Rutland Integrated Care System, July 2022 – July 2025.',
      areas: allAreas,
      tags: 'green plan',
      details: { documentKind: 'Green plan' },
      body: 'The plan sets out how the ICS and its partners will reduce carbon emissions and meet the NHS net zero targets. The document file will be added here by the LLR Green Plan team; every version will be kept.',
    },
  },
  {
    externalRef: 'seed:video:anna-murphy-green-inhalers',
    type: 'video',
    isExample: false,
    input: {
      title: 'Dr Anna Murphy on green inhalers',
      summary:
        'A consultant respiratory pharmacist on moving patients to lower-carbon inhalers where it is clinically right for them.',
      areas: [areaSlug('Medicines')],
      tags: 'inhalers, respiratory',
      details: {
        speaker: 'Dr Anna Murphy',
        transcript: PLACEHOLDER_TRANSCRIPT('Dr Anna Murphy', 'green inhalers'),
      },
    },
  },
  {
    externalRef: 'seed:video:gurnak-dosanjh-virtual-wards',
    type: 'video',
    isExample: false,
    input: {
      title: 'Dr Gurnak Dosanjh on virtual wards',
      summary: 'How virtual wards care for patients at home, saving journeys and hospital stays.',
      areas: [areaSlug('Sustainable models of care'), areaSlug('Digital transformation')],
      tags: 'virtual wards',
      details: {
        speaker: 'Dr Gurnak Dosanjh',
        transcript: PLACEHOLDER_TRANSCRIPT('Dr Gurnak Dosanjh', 'virtual wards'),
      },
    },
  },
  {
    externalRef: 'seed:page:reducing-health-inequalities',
    type: 'page',
    isExample: false,
    input: {
      title: 'Reducing health inequalities',
      summary:
        'How the LLR ICS Green Plan puts health inequalities and the health of the population at the centre of partnership working.',
      areas: allAreas,
      tags: 'health inequalities',
      body: [
        'The establishment of Integrated Care Systems (ICS) from July 2022 puts health inequalities and improving the health of the population at the centre of the partnership working across the ICS. This is about how we provide our services to ensure that the most vulnerable and disadvantaged receive the care they deserve.',
        '',
        'The ICS is intended to help the NHS support broader social and economic development. The ICS Green Plan builds on plans from individual partners and places particular emphasis on the collaborative actions required to deliver desired outcomes and leveraging collective efforts to achieve benefits for the community. The opportunities are diverse and include the following examples:',
        '',
        '- by reducing air pollution we can reduce respiratory disease',
        '- by improving patient pathways we can impact positively on mental health',
        '- by encouraging healthier eating we can improve overall health in the community',
        '- by working with local suppliers and enabling and encouraging green travel we can improve environmental impacts and help reduce carbon emissions across LLR',
      ].join('\n'),
    },
  },
  {
    externalRef: 'seed:page:greener-general-practices',
    type: 'page',
    isExample: false,
    input: {
      title: 'Greener General Practices',
      summary:
        'General practice and the NHS net zero target in Leicester, Leicestershire and Rutland.',
      areas: [
        areaSlug('Medicines'),
        areaSlug('Sustainable models of care'),
        areaSlug('Estates and facilities'),
      ],
      tags: 'general practice',
      body: [
        'Like all parts of the NHS, General Practice has a role to play to help the NHS achieve its vision of becoming the first health system in the world to deliver a net zero health service and respond to climate change, improving health now and for future generations.',
        '',
        'Primary care is estimated to contribute to 25% of the carbon footprint of the NHS. With 90% of patient contacts taking place in primary care, it has the potential to have a far wider influence on the attitudes of patients with regards to sustainability, and to contribute decisively to net zero targets. Research has shown that GPs have a powerful influence on patient behaviours, with impact on the care patients between primary and secondary care.',
        '',
        'Our goal is to raise awareness of the NHS’s net zero target, and the reasons behind it, and drive action in GP practices across LLR in line with the LLR ICS Green Plan.',
        '',
        '[Find an LLR GP practice](/organisations?type=gp_practice&icb=QK1), with its list size and deprivation.',
      ].join('\n'),
    },
  },
  {
    externalRef: 'seed:news:llr-ics-green-plan',
    type: 'news',
    isExample: false,
    input: {
      title: 'LLR ICS Green Plan sets out the system’s path to a net zero NHS',
      summary:
        'The Leicester, Leicestershire and Rutland Integrated Care System’s Green Plan (July 2022 – July 2025) brings together the actions of the ICS and its partners.',
      areas: allAreas,
      tags: 'green plan',
      body: [
        'The LLR ICS Green Plan covers July 2022 to July 2025. It sets out a collective vision and the actions the integrated care system will take to support national and regional NHS targets for carbon reduction, prioritising interventions that improve patient care and community wellbeing while tackling climate change.',
        '',
        'Built on the Green Plans of University Hospitals of Leicester and Leicestershire Partnership NHS Trust, it covers carbon emissions, waste, single-use plastic, travel and air pollution, site greening, sustainable models of care, anaesthetic gases, sustainable medicines and procurement, following the nine national areas of focus.',
        '',
        'Read more on the [LLR ICS Green Plan page](/pages/llr-ics-green-plan).',
        '',
        '*This summary is based on the workspace’s description of the plan; the original news release is not held on Greenspace.*',
      ].join('\n'),
    },
  },
  {
    externalRef: 'seed:example:case-study:inhaler-switch',
    type: 'case_study',
    isExample: true,
    input: {
      title: 'Example: reviewing inhalers in a city practice',
      summary:
        'A practice reviewed patients on metered-dose inhalers and, where clinically right, moved them to dry-powder inhalers.',
      areas: [areaSlug('Medicines')],
      tags: 'inhalers, respiratory, medicines optimisation',
      details: {
        problem:
          'Most inhaler items prescribed were pressurised metered-dose inhalers, whose propellant gases have a warming effect thousands of times that of carbon dioxide.',
        whatWasDone:
          'A practice pharmacist ran searches for patients with asthma or COPD using metered-dose inhalers, invited them for a review, checked inhaler technique and, where patients could use them and wanted to, prescribed dry-powder inhalers. Patients also got advice on returning used inhalers to pharmacies.',
        results:
          'Over a year the share of metered-dose inhalers among non-salbutamol inhaler items fell, and more patients had an annual review with a technique check.',
        tco2eSavedPerYear: '42',
        moneySavedPerYearGbp: '',
        benefitToPeople:
          'Patients had their technique checked and their treatment reviewed; some found the new device easier to use.',
        contactName: 'Example contact',
        contactEmail: '',
      },
    },
  },
  {
    externalRef: 'seed:example:case-study:virtual-ward',
    type: 'case_study',
    isExample: true,
    input: {
      title: 'Example: a virtual ward for frail older people',
      summary:
        'Caring for patients at home with remote monitoring, instead of admitting them to hospital.',
      areas: [
        areaSlug('Sustainable models of care'),
        areaSlug('Digital transformation'),
        areaSlug('Travel and transport'),
      ],
      tags: 'virtual wards, frailty',
      details: {
        problem:
          'Frail older people were often admitted to hospital for care that could safely be given at home, with long stays and many journeys for patients and families.',
        whatWasDone:
          'A multidisciplinary team cared for patients at home, with daily virtual rounds, remote monitoring and home visits when needed.',
        results: 'Fewer bed days and fewer journeys for patients, families and staff.',
        tco2eSavedPerYear: '18.5',
        moneySavedPerYearGbp: '',
        benefitToPeople: 'Patients recovered in familiar surroundings, close to their families.',
        contactName: '',
        contactEmail: '',
      },
    },
  },
  {
    externalRef: 'seed:example:case-study:anaesthetic-gases',
    type: 'case_study',
    isExample: true,
    input: {
      title: 'Example: taking desflurane out of theatres',
      summary:
        'Anaesthetists agreed to stop using desflurane, the anaesthetic gas with the largest warming effect.',
      areas: [areaSlug('Medicines'), areaSlug('Estates and facilities')],
      tags: 'anaesthetic gases, theatres',
      details: {
        problem:
          'Desflurane has a far larger warming effect than other volatile anaesthetics, and nitrous oxide was leaking from piped manifolds.',
        whatWasDone:
          'The anaesthetic department agreed to stop using desflurane, removed its vaporisers and moved to portable nitrous oxide cylinders where needed.',
        results: 'Desflurane use fell to zero and nitrous oxide waste fell sharply.',
        tco2eSavedPerYear: '310',
        moneySavedPerYearGbp: '25000',
        benefitToPeople:
          'No change to patient care; staff saw a practical difference they could make.',
        contactName: '',
        contactEmail: '',
      },
    },
  },
  {
    externalRef: 'seed:example:case-study:reusable-sharps',
    type: 'case_study',
    isExample: true,
    input: {
      title: 'Example: reusable sharps containers',
      summary: 'Replacing single-use sharps bins with reusable containers to cut plastic waste.',
      areas: [areaSlug('Supply chain and procurement'), areaSlug('Estates and facilities')],
      tags: 'single-use plastics, waste',
      details: {
        problem: 'Thousands of single-use plastic sharps containers were incinerated each year.',
        whatWasDone:
          'A reusable sharps service was procured: containers are collected, emptied, cleaned and returned.',
        results: 'Far fewer plastic containers incinerated each year.',
        tco2eSavedPerYear: '12',
        moneySavedPerYearGbp: '',
        benefitToPeople: 'Safer, sturdier containers for staff.',
        contactName: '',
        contactEmail: '',
      },
    },
  },
  {
    externalRef: 'seed:example:case-study:active-travel',
    type: 'case_study',
    isExample: true,
    input: {
      title: 'Example: helping staff travel actively',
      summary:
        'Secure cycle parking, showers and a cycle-to-work scheme to cut car journeys to work.',
      areas: [areaSlug('Travel and transport'), areaSlug('Workforce and system leadership')],
      tags: 'active travel, air quality',
      details: {
        problem:
          'Most staff drove to work, adding to congestion and air pollution around the sites.',
        whatWasDone:
          'Secure cycle parking, showers and lockers were added, and a cycle-to-work scheme and car-share matching were promoted.',
        results: 'More staff cycled or walked to work, and fewer parking permits were needed.',
        tco2eSavedPerYear: '',
        moneySavedPerYearGbp: '',
        benefitToPeople: 'Staff reported better wellbeing from active travel.',
        contactName: '',
        contactEmail: '',
      },
    },
  },
  {
    externalRef: 'seed:example:event:green-plan-network',
    type: 'event',
    isExample: true,
    input: {
      title: 'Example: LLR green champions network meeting',
      summary: 'An online meeting for green champions across LLR to share progress and ideas.',
      areas: allAreas,
      tags: 'green champions',
      details: {
        startsAt: '2027-01-20T13:00',
        endsAt: '2027-01-20T14:30',
        location: '',
        onlineUrl: 'https://meetings.example.nhs.uk/green-champions',
      },
      body: 'An example event: a short online meeting for green champions to share what has worked in their practices and trusts.',
    },
  },
];

function toInput(item: SeedItem): ContentInput {
  return {
    title: item.input.title,
    summary: item.input.summary,
    body: item.input.body ?? '',
    privacy: 'public',
    workspaceId: '',
    organisationCode: LLR,
    areas: item.input.areas ?? [],
    organisationTags: item.input.organisationTags ?? '',
    tags: item.input.tags ?? '',
    details: Object.fromEntries(
      Object.entries(item.input.details ?? {}).map(([key, value]) => [key, String(value)]),
    ),
  };
}

export const knowledgeHubSeed = {
  name: 'Knowledge hub (workspace pages, videos, news and example case studies)',
  async run(
    services: Services,
    options: SeedOptions,
  ): Promise<{ created: number; unchanged: number }> {
    await services.database.db
      .transaction()
      .execute((trx) => services.workspaces.ensureDefaultWorkspaces(trx));
    let created = 0;
    let unchanged = 0;
    for (const item of seedItems.filter((entry) => options.examples || !entry.isExample)) {
      const outcome = await services.content.upsertSeededContent(
        SYSTEM_ACTOR,
        {
          externalRef: item.externalRef,
          type: item.type,
          input: toInput(item),
          isExample: item.isExample,
        },
        { ip: null, userAgent: 'greenspace seed' },
      );
      if (outcome === 'unchanged') unchanged++;
      else created++;
    }
    return { created, unchanged };
  },
};
