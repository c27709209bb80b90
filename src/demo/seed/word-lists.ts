/**
 * Vocabulary the generator draws from. Embedded (not fetched) so that the same seed produces the
 * same data anywhere. Lists are short on purpose: combinations give the variety.
 */

export const FEMALE_FIRST_NAMES =
  `Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca Sharon Laura
Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen Debra Rachel Carolyn
Janet Maria Olivia Heather Catherine Sophia Diane Julie Victoria Joyce Lauren Kelly Christina Ruth Joan Virginia Judith
Evelyn Hannah Andrea Megan Cheryl Jacqueline Madison Teresa Abigail Sara Gloria Janice Kathryn Ann Isabella Judy Charlotte
Julia Grace Amber Alice Denise Danielle Marilyn Beverly Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Aisha
Mei Priya Fatima Ingrid Yuki Lucia Amara Noor Elena Camila Zainab`.split(/\s+/);

export const MALE_FIRST_NAMES =
  `James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel
Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward Jeffrey Ryan
Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank Raymond
Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith
Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan
Albert Willie Elijah Wayne Randy Vincent Mason Roy Ralph Bobby Russell Bradley Philip Eugene Omar Hiroshi Rahul Ahmed Lars
Mateo Kwame Dmitri Wei Tariq Luca`.split(/\s+/);

export const LAST_NAMES =
  `Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell
Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood
James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins
Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander
Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens
Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb
Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes
Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols
Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart
Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins
Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval O'Brien O'Connor Nakamura Okafor
Kowalski Novak Larsen Yilmaz Haddad Singh Khan`.split(/\s+/);

/** Parallel lists: CITIES[i] lies in STATES[i]. */
export const CITIES =
  `Boston|Springfield|Hartford|Providence|Albany|Buffalo|Newark|Philadelphia|Pittsburgh|Baltimore|Richmond|Charlotte|Atlanta|Miami|Tampa|Orlando|Nashville|Memphis|Louisville|Columbus|Cleveland|Detroit|Chicago|Milwaukee|Minneapolis|St. Louis|Kansas City|Omaha|Denver|Dallas|Houston|Austin|San Antonio|Phoenix|Tucson|Albuquerque|Salt Lake City|Las Vegas|Los Angeles|San Diego|San Francisco|Sacramento|Portland|Seattle|Spokane|Boise|Anchorage|Honolulu`.split(
    '|',
  );
export const STATES =
  `MA MA CT RI NY NY NJ PA PA MD VA NC GA FL FL FL TN TN KY OH OH MI IL WI MN MO MO NE CO TX TX TX TX AZ AZ NM UT NV CA CA CA CA OR WA WA ID AK HI`.split(
    /\s+/,
  );

export const STREETS =
  `Main St|Oak Ave|Maple Dr|Cedar Ln|Elm St|Pine Rd|Washington Blvd|Lake View Dr|Hillcrest Ave|River Rd|Park Pl|Sunset Blvd|Church St|Highland Ave|Mill Rd|Forest Dr|Spring St|Meadow Ln|Ridge Rd|Harbor Way`.split(
    '|',
  );

export const EMAIL_DOMAINS = [
  'example.org',
  'example.com',
  'mail.example.net',
  'caresync.example',
  'inbox.example',
];

export const HOSPITAL_KINDS = [
  'General Hospital',
  'Medical Center',
  'Community Hospital',
  'Regional Medical Center',
  "Children's Hospital",
  'University Hospital',
  'Memorial Hospital',
  'Heart Institute',
];

export const DEPARTMENTS =
  `Emergency|Cardiology|Oncology|Neurology|Pediatrics|Obstetrics|Gynecology|Orthopedics|Radiology|Pathology|Dermatology|Psychiatry|Urology|Nephrology|Gastroenterology|Pulmonology|Endocrinology|Rheumatology|Ophthalmology|Otolaryngology|General Surgery|Anesthesiology|Intensive Care|Internal Medicine|Family Medicine|Geriatrics|Infectious Disease|Hematology|Physical Therapy|Pharmacy`.split(
    '|',
  );

export const SPECIALTIES =
  `Cardiology|Oncology|Neurology|Pediatrics|Obstetrics|Orthopedic Surgery|Radiology|Dermatology|Psychiatry|Internal Medicine|Family Medicine|Emergency Medicine|Anesthesiology|Gastroenterology|Endocrinology|Pulmonology|Nephrology|Urology`.split(
    '|',
  );

export const STAFF_TYPES = [
  'physician',
  'physician',
  'physician',
  'nurse',
  'nurse',
  'nurse',
  'pharmacist',
  'lab_technician',
  'therapist',
  'admin',
];

export const ROLES = [
  'admin',
  'physician',
  'nurse',
  'pharmacist',
  'lab_technician',
  'therapist',
  'receptionist',
  'billing_clerk',
  'patient',
  'auditor',
  'data_analyst',
  'it_support',
];

export const PERMISSION_RESOURCES =
  `patients|consultations|prescriptions|lab_orders|lab_results|appointments|claims|invoices|reports|users|inventory|audit_log`.split(
    '|',
  );
export const PERMISSION_ACTIONS = ['read', 'create', 'update', 'delete', 'export'];

export const CONDITIONS =
  `Essential hypertension|Type 2 diabetes mellitus|Asthma|Chronic obstructive pulmonary disease|Major depressive disorder|Generalized anxiety disorder|Hyperlipidemia|Osteoarthritis of knee|Low back pain|Migraine|Hypothyroidism|Atrial fibrillation|Heart failure|Chronic kidney disease|Gastroesophageal reflux disease|Urinary tract infection|Acute bronchitis|Pneumonia|Influenza|Otitis media|Acute sinusitis|Cellulitis|Iron deficiency anemia|Obesity|Sleep apnea|Allergic rhinitis|Atopic dermatitis|Psoriasis|Rheumatoid arthritis|Gout|Osteoporosis|Fracture of radius|Sprain of ankle|Concussion|Epilepsy|Parkinson disease|Alzheimer disease|Coronary artery disease|Angina pectoris|Peripheral artery disease|Deep vein thrombosis|Pulmonary embolism|Appendicitis|Cholecystitis|Pancreatitis|Irritable bowel syndrome|Crohn disease|Ulcerative colitis|Hepatitis C|Cirrhosis of liver|Breast cancer|Prostate cancer|Lung cancer|Colon cancer|Melanoma|Lymphoma|Leukemia|Pregnancy supervision|Gestational diabetes|Preeclampsia|Attention deficit disorder|Autism spectrum disorder|Bipolar disorder|Schizophrenia|Alcohol use disorder|Tobacco use|Vitamin D deficiency|Dehydration|Syncope|Chest pain unspecified|Abdominal pain|Headache|Fever unspecified|Cough|Dizziness|Fatigue|Rash|Insomnia|Hearing loss|Cataract|Glaucoma`.split(
    '|',
  );

export const CONDITION_QUALIFIERS = [
  '',
  ', unspecified',
  ', initial encounter',
  ', subsequent encounter',
  ', with complications',
  ', without complications',
  ', chronic',
  ', acute',
];

export const PROCEDURES =
  `Office visit|Electrocardiogram|Chest radiograph|Venipuncture|Spirometry|Influenza vaccination|Wound repair|Joint injection|Colonoscopy|Upper endoscopy|Echocardiogram|CT head without contrast|MRI lumbar spine|Ultrasound abdomen|Cast application|Skin biopsy|Cardiac stress test|Physical therapy evaluation|Psychotherapy session|Nebulizer treatment|Incision and drainage|Suture removal|Mammography|Bone density scan|Cataract surgery|Appendectomy|Cholecystectomy|Knee arthroscopy|Hip replacement|Cesarean delivery`.split(
    '|',
  );

export const MEDICATIONS =
  `Amoxicillin|Atorvastatin|Lisinopril|Metformin|Amlodipine|Metoprolol|Omeprazole|Simvastatin|Losartan|Albuterol|Gabapentin|Hydrochlorothiazide|Sertraline|Furosemide|Acetaminophen|Ibuprofen|Prednisone|Levothyroxine|Azithromycin|Ciprofloxacin|Doxycycline|Cephalexin|Warfarin|Apixaban|Clopidogrel|Insulin glargine|Insulin lispro|Montelukast|Fluticasone|Escitalopram|Fluoxetine|Bupropion|Trazodone|Duloxetine|Citalopram|Pantoprazole|Rosuvastatin|Pravastatin|Carvedilol|Tamsulosin|Finasteride|Allopurinol|Meloxicam|Naproxen|Tramadol|Oxycodone|Hydrocodone|Morphine|Lorazepam|Alprazolam|Clonazepam|Zolpidem|Quetiapine|Aripiprazole|Risperidone|Lamotrigine|Levetiracetam|Topiramate|Sumatriptan|Ondansetron|Promethazine|Cetirizine|Loratadine|Diphenhydramine|Spironolactone|Valsartan|Diltiazem|Verapamil|Digoxin|Nitroglycerin|Methotrexate|Hydroxychloroquine|Tacrolimus|Cyclosporine|Enoxaparin|Heparin|Vancomycin|Ceftriaxone|Piperacillin|Nitrofurantoin|Fluconazole|Acyclovir|Valacyclovir|Oseltamivir|Dexamethasone|Methylprednisolone|Budesonide|Tiotropium|Salmeterol|Glipizide|Sitagliptin|Empagliflozin|Dapagliflozin|Liraglutide|Semaglutide|Estradiol|Medroxyprogesterone|Norethindrone|Ferrous sulfate|Folic acid`.split(
    '|',
  );
export const MEDICATION_FORMS = [
  'tablet',
  'capsule',
  'oral solution',
  'injection',
  'inhaler',
  'cream',
  'patch',
  'suspension',
];
export const MEDICATION_STRENGTHS = [
  '2.5 mg',
  '5 mg',
  '10 mg',
  '20 mg',
  '25 mg',
  '40 mg',
  '50 mg',
  '100 mg',
  '250 mg',
  '500 mg',
  '875 mg',
  '1 g',
  '100 units/mL',
  '90 mcg/actuation',
];
export const DOSAGES = [
  '1 tablet',
  '2 tablets',
  '1 capsule',
  '5 mL',
  '10 mL',
  '1 puff',
  '2 puffs',
  '10 units',
  '0.5 tablet',
  '1 application',
];
export const FREQUENCIES = [
  'once daily',
  'twice daily',
  'three times daily',
  'every 4 hours as needed',
  'every 6 hours',
  'at bedtime',
  'once weekly',
  'every 8 hours',
  'every morning',
  'as needed',
];

export const LAB_TESTS =
  `Complete blood count|Basic metabolic panel|Comprehensive metabolic panel|Lipid panel|Hemoglobin A1c|Thyroid stimulating hormone|Free T4|Vitamin D 25-hydroxy|Vitamin B12|Ferritin|Iron|Prothrombin time|INR|aPTT|D-dimer|Troponin I|BNP|C-reactive protein|ESR|Urinalysis|Urine culture|Blood culture|Creatinine|BUN|Sodium|Potassium|Chloride|Glucose fasting|ALT|AST|Alkaline phosphatase|Bilirubin total|Albumin|Lipase|Amylase|Magnesium|Phosphorus|Calcium|Uric acid|PSA|hCG quantitative|Hepatitis B surface antigen|HIV 1/2 antibody|Hepatitis C antibody|Strep A rapid|Influenza A/B PCR|SARS-CoV-2 PCR|Lactate|Ammonia|Cortisol|Testosterone|Estradiol|Folate|Reticulocyte count|Platelet count|White blood cell count|Hemoglobin|Hematocrit|Arterial blood gas|Stool occult blood`.split(
    '|',
  );
export const SPECIMEN_TYPES = [
  'whole blood',
  'serum',
  'plasma',
  'urine',
  'swab',
  'stool',
  'arterial blood',
  'CSF',
];
export const LAB_UNITS = ['mg/dL', 'mmol/L', 'g/dL', '%', 'U/L', 'ng/mL', 'pg/mL', 'mIU/L', 'x10^9/L', 'sec'];

export const ALLERGENS =
  `Penicillin:drug|Amoxicillin:drug|Sulfonamides:drug|Aspirin:drug|Ibuprofen:drug|Codeine:drug|Morphine:drug|Cephalosporins:drug|Contrast dye:drug|Latex:environmental|Peanuts:food|Tree nuts:food|Shellfish:food|Eggs:food|Milk:food|Soy:food|Wheat:food|Fish:food|Sesame:food|Bee stings:environmental|Pollen:environmental|Dust mites:environmental|Cat dander:environmental|Mold:environmental|Adhesive tape:other|Nickel:other`.split(
    '|',
  );
export const REACTIONS = [
  'Hives',
  'Rash',
  'Anaphylaxis',
  'Swelling',
  'Wheezing',
  'Nausea',
  'Itching',
  'Shortness of breath',
  'Vomiting',
  'Hypotension',
];
export const SEVERITIES = ['mild', 'mild', 'mild', 'moderate', 'moderate', 'severe', 'life_threatening'];

export const VACCINES =
  `03:MMR|08:Hepatitis B|10:IPV|20:DTaP|21:Varicella|33:Pneumococcal polysaccharide|62:HPV quadrivalent|88:Influenza|113:Td|115:Tdap|121:Zoster|133:Pneumococcal conjugate PCV13|141:Influenza seasonal|208:COVID-19 mRNA|187:Zoster recombinant`.split(
    '|',
  );

export const RELATIONSHIPS = [
  'spouse',
  'partner',
  'parent',
  'child',
  'sibling',
  'friend',
  'guardian',
  'neighbor',
];

export const COMPLAINTS =
  `Chest pain|Shortness of breath|Abdominal pain|Headache|Fever and chills|Cough for two weeks|Back pain|Dizziness|Fatigue|Rash on arms|Sore throat|Ear pain|Joint pain|Follow-up of blood pressure|Medication refill|Annual physical|Prenatal visit|Wound check|Palpitations|Nausea and vomiting|Anxiety|Difficulty sleeping|Knee injury|Blurred vision|Urinary symptoms`.split(
    '|',
  );

/** Clinical prose for note bodies: random sequences of these read like dictated notes. */
export const NOTE_WORDS =
  `patient presents with denies reports history of acute chronic intermittent pain swelling
tenderness noted on examination afebrile vital signs stable blood pressure heart rate regular rhythm lungs clear to
auscultation bilaterally abdomen soft non-tender no guarding bowel sounds present extremities without edema neurologically
intact alert oriented times three plan continue current medications follow up in two weeks labs ordered imaging reviewed
discussed risks benefits alternatives consent obtained tolerated well assessment likely viral etiology supportive care advised
return precautions given counseled on diet exercise smoking cessation medication adherence reviewed allergies reconciled
mild moderate severe left right upper lower quadrant radiating improving worsening since onset three days ago associated
nausea without vomiting fever chills cough productive dry wheezing shortness breath on exertion chest wall reproducible
ECG sinus rhythm troponin negative glucose elevated A1c hemoglobin within normal limits creatinine baseline
potassium repleted IV fluids started antibiotics continued wound clean dry intact dressing changed physical therapy
consulted discharge planning social work family at bedside`.split(/\s+/);

export const NOTE_SECTIONS = [
  'Subjective: ',
  'History of present illness: ',
  'Assessment and plan: ',
  'Progress note: ',
  'Nursing note: ',
];
