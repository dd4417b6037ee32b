/**
 * The nine national areas of focus for ICS and trust Green Plans, from NHS England's guidance on
 * green plans (2021), in the guidance's order. The LLR ICS Green Plan (July 2022 – July 2025) uses
 * the same framework; `llrHeading` is the wording the LLR workspace uses where it differs.
 */
export interface AreaOfFocus {
  slug: string;
  name: string;
  llrHeading: string;
  summary: string;
}

export const nationalAreasOfFocus: readonly AreaOfFocus[] = [
  {
    slug: 'workforce-and-system-leadership',
    name: 'Workforce and system leadership',
    llrHeading: 'Workforce and system leadership',
    summary:
      'Leadership, governance and skills for net zero: a named board-level lead, sustainability in staff induction and training, and green champions across the system.',
  },
  {
    slug: 'sustainable-models-of-care',
    name: 'Sustainable models of care',
    llrHeading: 'Sustainable models of care',
    summary:
      'Care that prevents ill health and is delivered closer to home, such as virtual wards, so that fewer journeys, admissions and resources are needed.',
  },
  {
    slug: 'digital-transformation',
    name: 'Digital transformation',
    llrHeading: 'Digital transformation',
    summary:
      'Digital services, such as remote consultations, shared records and paperless processes, that cut travel and paper while improving access.',
  },
  {
    slug: 'travel-and-transport',
    name: 'Travel and transport',
    llrHeading: 'Sustainable travel and transport',
    summary:
      'Lower emissions and cleaner air from staff, patient and visitor travel and the NHS fleet: active travel, public transport and zero-emission vehicles.',
  },
  {
    slug: 'estates-and-facilities',
    name: 'Estates and facilities',
    llrHeading: 'Estates and facilities sustainability',
    summary:
      'Decarbonising buildings through energy efficiency and low-carbon heat and power, cutting waste, water use and single-use plastics, and greening sites for wellbeing.',
  },
  {
    slug: 'medicines',
    name: 'Medicines',
    llrHeading: 'Medicines',
    summary:
      'A smaller footprint from medicines, especially inhalers and anaesthetic gases: lower-carbon inhalers where clinically right, better respiratory care and less medicines waste.',
  },
  {
    slug: 'supply-chain-and-procurement',
    name: 'Supply chain and procurement',
    llrHeading: 'Supply chain and procurement',
    summary:
      'Working with suppliers to reduce the emissions of the goods and services the NHS buys, and weighing social value in procurement.',
  },
  {
    slug: 'food-and-nutrition',
    name: 'Food and nutrition',
    llrHeading: 'Food and nutrition',
    summary:
      'Healthier and more sustainable food for patients and staff, with less food waste and more local sourcing.',
  },
  {
    slug: 'adaptation',
    name: 'Adaptation',
    llrHeading: 'Adaptation to climate change',
    summary:
      'Preparing services, buildings and communities for the effects of a changing climate, such as heatwaves and flooding.',
  },
];

export function findAreaOfFocus(slug: string): AreaOfFocus | undefined {
  return nationalAreasOfFocus.find((area) => area.slug === slug);
}
