#!/usr/bin/env python3
"""Writes the bundled layouts of ESR's Generic Outbound feeds from one table of the public
record: assets/layouts/local-data-warehouse.toml, generic-outbound.toml and
expenses-staff-lists.toml.

    scripts/make-go-layouts.py            (from the repository's root)

The field lists below are facts read from public code that reads real ESR files, cited in
each layout's [[sources]] (repository, path, commit):
- sardjv/esr_api @ baf69e8bf063fbbfaa41599e5be8fe2fdbe835c9, app/services/etl/headers/*.rb:
  each record type's fields in order (an ETL built with an NHS trust against its daily
  data-warehouse extracts and ESR's document ESR-NHS0201);
- RichEDev/Storybook @ 672b383f8fcaeb88aa880a16bd6aa81445421d0a, EsrGo2FromNhs/: an expenses
  supplier's reader of the GO feeds (the expenses feed's record types, the names esr_api
  leaves unread, the trailer and sequence rules).
Names and order are facts; no code was copied. Each field's form is the one the sources show:
  id      an identifier (text: esr_api keeps them as text, its test data has letters in some)
  text    free text; a coded field with no public list of codes is free text
  date    YYYYMMDD            ts   YYYYMMDD HHMMSS      time  HH:MM
  ts|date a timestamp, or a date where the sources disagree (PRA's Last Update Date)
  num     a number            int  a whole number       yesno  Yes or No
  spare   a spare field (empty; esr_api reads nothing there)
  unnamed a position whose name is not public
Lengths are not public: text is X(240), which holds every value the sources show. Edit the
tables here, never the generated layouts, and run the script again.
"""
import os

# Each record type's fields in file order, as the sources list them (`Name | form`).
SPEC = """
PRA:
  Record Type | type
  Person ID | id
  Effective Start Date | date
  Effective End Date | date
  Employee Number | id
  Title | text
  Last Name | text
  First Name | text
  Middle Names | text
  Maiden Name | text
  Preferred Name | text
  Previous Last Name | text
  Gender | text
  Date of Birth | date
  National Insurance Number | text
  NHS Unique ID | id
  Hire Date | date
  Actual Termination Date | date
  Termination Reason | text
  Employee Status Flag | text
  WTR Opt Out | text
  WTR Opt Out Date | date
  Ethnic Origin | text
  Marital Status | text
  Country of Birth | text
  Previous Employer | text
  Previous Employer Type | text
  CSD 3 Months | date
  CSD 12 Months | date
  NHS CRS UUID | id
  Spare 1 | spare
  Spare 2 | spare
  Spare 3 | spare
  System Person Type | text
  User Person Type | text
  Office E-mail Address | text
  NHS Start Date | date
  Spare 4 | spare
  Last Update Date | ts|date
  Disability Flag | text
  Legacy Payroll Number | text
  Nationality | text
  Spare 5 | spare
  Spare 6 | spare
ASA:
  Record Type | type
  Person ID | id
  Assignment ID | id
  Effective Start Date | date
  Effective End Date | date
  Earliest Assignment Start Date | date
  Assignment Type | text
  Assignment Number | text
  System Assignment Status | text
  User Assignment Status | text
  Employee Status Flag | text
  Payroll Name | text
  Payroll Period Type | text
  Assignment Location ID | id
  Supervisor Flag | text
  Supervisor Person ID | id
  Supervisor Assignment ID | id
  Supervisor Assignment Number | text
  Department Manager Person ID | id
  Employee Category | text
  Assignment Category | text
  Primary Assignment | yesno
  Normal Hours / Sessions | num
  Frequency | text
  Grade Contract Hours | num
  FTE | num
  Flexible Working Pattern | text
  Organisation ID | id
  Position ID | id
  Position Name | text
  Grade | text
  Grade Step | text
  Start Date in Grade | date
  Annual Salary Value | num
  Job Name | text
  People Group | text
  T&A Flag | text
  Assignment Night Worker Attribute | text
  Projected Hire Date | date
  Vacancy ID | int
  Contract End Date | date
  Increment Date | date
  Maximum Part Time Flag | text
  AFC Flag | text
  Last Update Date | ts
  Last Working Day | date
  e-KSF Spinal Point | text
  Manager Flag | text
  Assignment End Date | date
  Spare 1 | spare
  Spare 2 | spare
ABA:
  Record Type | type
  Person ID | id
  Absence Attendance ID | id
  Absence Type | text
  Absence Reason | text
  Status | text
  Notification Date | date
  Projected Start Date | date
  Projected Start Time | time
  Projected End Date | date
  Projected End Time | time
  Actual Start Date | date
  Actual Start Time | time
  Actual End Date | date
  Actual End Time | time
  Sickness Start Date | date
  Sickness Date End | date
  Absence Duration Days | num
  Absence Duration Hours | num
  Absence Units | text
  Hours Lost | num
  Sessions Lost | num
  Work Related | yesno
  Third Party | text
  Disability Related | text
  Violence Aggression Related | text
  Notifiable Disease | text
  Return To Work Discussion Date | date
  Occupational Health Referral Date | date
  Last Update Date | ts
  Surgery Related | text
  DH Monitoring | text
  Sickness Reason | text
  3rd Party System Reference | text
  Spare 1 | spare
  Spare 2 | spare
  Spare 3 | spare
  Spare 4 | spare
  Spare 5 | spare
  Spare 6 | spare
  Spare 7 | spare
  Spare 8 | spare
  Spare 9 | spare
  Spare 10 | spare
  Spare 11 | spare
  Spare 12 | spare
  Spare 13 | spare
  Spare 14 | spare
CDA:
  Record Type | type
  Competence ID | id
  Competence Name | text
  Description | text
  Date From | date
  Date To | date
  Behavioural Indicator | text
  Certification Required | yesno
  Rating Scale ID | id
  Evaluation Method | text
  Renewal Period Freq | num
  Renewal Period Units | text
  Competence Cluster | text
  Competence Alias | text
  VPD Code | text
  Last Update Date | ts
CMA:
  Record Type | type
  Person ID | id
  Competency Element ID | id
  Competency Type | text
  Competency Status | text
  Competency Name | text
  Date From | date
  Date To | date
  Proficiency Level | text
  VPD Code | text
  Certification Date | date
  Certification Method | text
  Next Certification Date | date
  Competence ID | id
  Business Group ID | id
  Job ID | id
  Organisation ID | id
  Position ID | id
  Proficiency Level ID | id
  Proficiency High Level ID | id
  Essential Flag | text
  Records Type | text
  Last Update Date | ts
  Spare 1 | spare
  Spare 2 | spare
  Spare 3 | spare
  Spare 4 | spare
COA:
  Record Type | type
  Person ID | id
  Assignment ID | id
  Costing Allocation ID | id
  Effective Start Date | date
  Effective End Date | date
  Entity Code | text
  Charitable Indicator | text
  Cost Centre | text
  Subjective | text
  Analysis 1 | text
  Analysis 2 | text
  Element Number | int
  Spare Segment | text
  Percentage Split | num
  Last Update Date | ts
DTA:
  Record Type | type
  Person ID | id
  Disability ID | id
  Unnamed 4 | unnamed
  Unnamed 5 | unnamed
  Unnamed 6 | unnamed
  Category | text
  Status | text
  Unnamed 9 | unnamed
  Unnamed 10 | unnamed
  Unnamed 11 | unnamed
  Unnamed 12 | unnamed
  Unnamed 13 | unnamed
  Unnamed 14 | unnamed
  Unnamed 15 | unnamed
ELA:
  Record Type | type
  Person ID | id
  Element Entry ID | id
  Effective Start Date | date
  Effective End Date | date
  Element Entry Type | text
  Assignment ID | id
  Element Type ID | id
  Element Type Name | text
  Earned Date | date
  Entry Value 1 | text
  Entry Value 2 | text
  Entry Value 3 | text
  Entry Value 4 | text
  Entry Value 5 | text
  Entry Value 6 | text
  Entry Value 7 | text
  Entry Value 8 | text
  Entry Value 9 | text
  Entry Value 10 | text
  Entry Value 11 | text
  Entry Value 12 | text
  Entry Value 13 | text
  Entry Value 14 | text
  Entry Value 15 | text
  Last Update Date | ts
ETA:
  Record Type | type
  Person ID | id
  Person Extra Information ID | id
  Information Type | text
  PEI_INFORMATION_CATEGORY | text
  PEI_INFORMATION1 | text
  PEI_INFORMATION2 | text
  PEI_INFORMATION3 | text
  PEI_INFORMATION4 | text
  PEI_INFORMATION5 | text
  PEI_INFORMATION6 | text
  PEI_INFORMATION7 | text
  PEI_INFORMATION8 | text
  PEI_INFORMATION9 | text
  PEI_INFORMATION10 | text
  PEI_INFORMATION11 | text
  PEI_INFORMATION12 | text
  PEI_INFORMATION13 | text
  PEI_INFORMATION14 | text
  PEI_INFORMATION15 | text
  PEI_INFORMATION16 | text
  PEI_INFORMATION17 | text
  PEI_INFORMATION18 | text
  PEI_INFORMATION19 | text
  PEI_INFORMATION20 | text
  PEI_INFORMATION21 | text
  PEI_INFORMATION22 | text
  PEI_INFORMATION23 | text
  PEI_INFORMATION24 | text
  PEI_INFORMATION25 | text
  PEI_INFORMATION26 | text
  PEI_INFORMATION27 | text
  PEI_INFORMATION28 | text
  PEI_INFORMATION29 | text
  PEI_INFORMATION30 | text
  ATTRIBUTE_CATEGORY | text
  PEI_ATTRIBUTE1 | text
  PEI_ATTRIBUTE2 | text
  PEI_ATTRIBUTE3 | text
  PEI_ATTRIBUTE4 | text
  PEI_ATTRIBUTE5 | text
  PEI_ATTRIBUTE6 | text
  PEI_ATTRIBUTE7 | text
  PEI_ATTRIBUTE8 | text
  PEI_ATTRIBUTE9 | text
  PEI_ATTRIBUTE10 | text
  PEI_ATTRIBUTE11 | text
  PEI_ATTRIBUTE12 | text
  PEI_ATTRIBUTE13 | text
  PEI_ATTRIBUTE14 | text
  PEI_ATTRIBUTE15 | text
  PEI_ATTRIBUTE16 | text
  PEI_ATTRIBUTE17 | text
  PEI_ATTRIBUTE18 | text
  PEI_ATTRIBUTE19 | text
  PEI_ATTRIBUTE20 | text
  Last Update Date | ts
LCA:
  Record Type | type
  Location ID | id
  Location Code | text
  Location Description | text
  Inactive Date | date
  Assignment Address 1st line | text
  Assignment Address 2nd line | text
  Assignment Address 3rd line | text
  Town | text
  County | text
  Postcode | text
  Country | text
  Telephone | text
  Fax | text
  Payslip Delivery Point | text
  Site Code | text
  Welsh Location Translation | text
  Welsh Address Line 1 | text
  Welsh Address Line 2 | text
  Welsh Address Line 3 | text
  Welsh Town Translation | text
  Last Update Date | ts
ORA:
  Record Type | type
  Organisation ID | id
  Organisation Name | text
  Organisation Type | text
  Effective From Date | date
  Effective To Date | date
  Hierarchy Version ID | id
  Hierarchy Version Date From | date
  Hierarchy Version Date To | date
  Default Cost Centre | text
  Parent Organisation ID | id
  NACS Code | text
  Location ID | id
  Last Update Date | ts
  Cost Centre Description | text
  Spare 1 | spare
PIA:
  Record Type | type
  Position ID | id
  Position Extra Information ID | id
  Information Type | text
  POEI_INFORMATION_CATEGORY | text
  POEI_INFORMATION1 | text
  POEI_INFORMATION2 | text
  POEI_INFORMATION3 | text
  POEI_INFORMATION4 | text
  POEI_INFORMATION5 | text
  POEI_INFORMATION6 | text
  POEI_INFORMATION7 | text
  POEI_INFORMATION8 | text
  POEI_INFORMATION9 | text
  POEI_INFORMATION10 | text
  POEI_INFORMATION11 | text
  POEI_INFORMATION12 | text
  POEI_INFORMATION13 | text
  POEI_INFORMATION14 | text
  POEI_INFORMATION15 | text
  POEI_INFORMATION16 | text
  POEI_INFORMATION17 | text
  POEI_INFORMATION18 | text
  POEI_INFORMATION19 | text
  POEI_INFORMATION20 | text
  POEI_INFORMATION21 | text
  POEI_INFORMATION22 | text
  POEI_INFORMATION23 | text
  POEI_INFORMATION24 | text
  POEI_INFORMATION25 | text
  POEI_INFORMATION26 | text
  POEI_INFORMATION27 | text
  POEI_INFORMATION28 | text
  POEI_INFORMATION29 | text
  POEI_INFORMATION30 | text
  ATTRIBUTE_CATEGORY | text
  POEI_ATTRIBUTE1 | text
  POEI_ATTRIBUTE2 | text
  POEI_ATTRIBUTE3 | text
  POEI_ATTRIBUTE4 | text
  POEI_ATTRIBUTE5 | text
  POEI_ATTRIBUTE6 | text
  POEI_ATTRIBUTE7 | text
  POEI_ATTRIBUTE8 | text
  POEI_ATTRIBUTE9 | text
  POEI_ATTRIBUTE10 | text
  POEI_ATTRIBUTE11 | text
  POEI_ATTRIBUTE12 | text
  POEI_ATTRIBUTE13 | text
  POEI_ATTRIBUTE14 | text
  POEI_ATTRIBUTE15 | text
  POEI_ATTRIBUTE16 | text
  POEI_ATTRIBUTE17 | text
  POEI_ATTRIBUTE18 | text
  POEI_ATTRIBUTE19 | text
  POEI_ATTRIBUTE20 | text
  Last Update Date | ts
POA:
  Record Type | type
  Position ID | id
  Effective From Date | date
  Effective To Date | date
  Position Number | text
  Position Name | text
  Budgeted FTE | num
  Subjective Code | text
  Job Staff Group | text
  Job Role | text
  Occupation Code | text
  Payscale | text
  Grade Step | text
  ISA Regulated Post | text
  Organisation ID | id
  Hiring Status | text
  Position Type | text
  Eligible for OH Processing | text
  EPP Flag | text
  Deanery Post Number | text
  Managing Deanery Body | text
  Workplace Org Code | text
  Last Update Date | ts
  Subjective Code Description | text
QLA:
  Record Type | type
  Person ID | id
  Qualification ID | id
  Qualification Type | text
  Title | text
  Status | text
  Grade | text
  Awarded Date | date
  Start Date | date
  End Date | date
  Establishment | text
  Country | text
  Last Update Date | ts
STA:
  Record Type | type
  Person ID | id
  Special Information ID | id
  Effective Start Date | date
  Effective End Date | date
  Information Type | text
  SEGMENT1 | text
  SEGMENT2 | text
  SEGMENT3 | text
  SEGMENT4 | text
  SEGMENT5 | text
  SEGMENT6 | text
  SEGMENT7 | text
  SEGMENT8 | text
  SEGMENT9 | text
  SEGMENT10 | text
  SEGMENT11 | text
  SEGMENT12 | text
  SEGMENT13 | text
  SEGMENT14 | text
  SEGMENT15 | text
  SEGMENT16 | text
  SEGMENT17 | text
  SEGMENT18 | text
  SEGMENT19 | text
  SEGMENT20 | text
  SEGMENT21 | text
  SEGMENT22 | text
  SEGMENT23 | text
  SEGMENT24 | text
  SEGMENT25 | text
  SEGMENT26 | text
  SEGMENT27 | text
  SEGMENT28 | text
  SEGMENT29 | text
  SEGMENT30 | text
  ATTRIBUTE_CATEGORY | text
  ATTRIBUTE1 | text
  ATTRIBUTE2 | text
  ATTRIBUTE3 | text
  ATTRIBUTE4 | text
  ATTRIBUTE5 | text
  ATTRIBUTE6 | text
  ATTRIBUTE7 | text
  ATTRIBUTE8 | text
  ATTRIBUTE9 | text
  ATTRIBUTE10 | text
  ATTRIBUTE11 | text
  ATTRIBUTE12 | text
  ATTRIBUTE13 | text
  ATTRIBUTE14 | text
  ATTRIBUTE15 | text
  ATTRIBUTE16 | text
  ATTRIBUTE17 | text
  ATTRIBUTE18 | text
  ATTRIBUTE19 | text
  ATTRIBUTE20 | text
  Last Update Date | ts
TRA:
  Record Type | type
  Person ID | id
  Absence Attendance ID | id
  Absence Type | text
  Absence Reason | text
  Status | text
  Notification Date | date
  Projected Start Date | date
  Projected Start Time | time
  Projected End Date | date
  Projected End Time | time
  Actual Start Date | date
  Actual Start Time | time
  Actual End Date | date
  Actual End Time | time
  Sickness Start Date | date
  Sickness End Date | date
  Absence Duration Days | num
  Absence Duration Hours | num
  Absence Units | text
  Hours Lost | num
  Sessions Lost | num
  Work Related | text
  Third Party | text
  Disability Related | text
  Violence & Aggression Related | text
  Notifiable Disease | text
  Return To Work Discussion Date | date
  Occupational Health Referral Date | date
  Last Update Date | ts
PHA:
  Record Type | type
  Person ID | id
  Phone ID | id
  Phone Type | text
  Phone Number | text
  Effective Start Date | date
  Effective End Date | date
  Last Update Date | ts
ADA:
  Record Type | type
  Person ID | id
  Address ID | id
  Address Type | text
  Address Style | text
  Primary Flag | yesno
  Address Line1 | text
  Address Line2 | text
  Address Line3 | text
  Address Town | text
  Address County | text
  Address Postcode | text
  Address Country | text
  Effective Start Date | date
  Effective End Date | date
  Last Update Date | ts
VHA:
  Record Type | type
  Person ID | id
  Assignment ID | id
  Vehicle Allocation ID | id
  Effective Start Date | date
  Effective End Date | date
  Registration Number | text
  Make | text
  Model | text
  Ownership | text
  Initial Registration Date | date
  Last Update Date | ts
  Engine Cc | num
  User Rates Table | text
  Fuel Type | text
"""

# What each record type is, its key (its delete record carries only the type and this
# field), how many a synthetic person has (gen-sample), and whether it is date-tracked.
TYPES = {
    "PRA": ("Person", "Person ID", 1.25, ("Person ID", "Effective Start Date", "Effective End Date")),
    "ASA": ("Assignment", "Assignment ID", 1.3, ("Assignment ID", "Effective Start Date", "Effective End Date")),
    "ABA": ("Absence", "Absence Attendance ID", 0.4, None),
    "CDA": ("Competence definition", "Competence ID", 0.05, None),
    "CMA": ("Competency", "Competency Element ID", 0.4, None),
    "COA": ("Costing", "Costing Allocation ID", 0.5, None),
    "DTA": ("Disability", "Disability ID", 0.05, None),
    "ELA": ("Element entry", "Element Entry ID", 0.4, None),
    "ETA": ("Person extra information", "Person Extra Information ID", 0.1, None),
    "LCA": ("Location", "Location ID", 0.08, None),
    "ORA": ("Organisation", "Organisation ID", 0.08, None),
    "PIA": ("Position extra information", "Position Extra Information ID", 0.05, None),
    "POA": ("Position", "Position ID", 0.2, ("Position ID", "Effective From Date", "Effective To Date")),
    "QLA": ("Qualification", "Qualification ID", 0.15, None),
    "STA": ("Special information", "Special Information ID", 0.1, None),
    "TRA": ("Training absence", "Absence Attendance ID", 0.15, None),
    "PHA": ("Phone", "Phone ID", 0.6, None),
    "ADA": ("Address", "Address ID", 0.6, None),
    "VHA": ("Vehicle", "Vehicle Allocation ID", 0.2, None),
}

# Personal data (docs/information-governance.md): masked until revealed with a reason.
SENSITIVE = {
    ("PRA", "Date of Birth"): "identifier",
    ("PRA", "National Insurance Number"): "identifier",
    ("PRA", "Ethnic Origin"): "special",
    ("PRA", "Disability Flag"): "health",
    ("ASA", "Annual Salary Value"): "financial",
    ("ABA", "Sickness Reason"): "health",
    ("DTA", "Category"): "health",
    ("PHA", "Phone Number"): "contact",
    ("ADA", "Address Line1"): "contact",
    ("ADA", "Address Line2"): "contact",
    ("ADA", "Address Line3"): "contact",
    ("ADA", "Address Postcode"): "contact",
}

# Hints for the sample generator only (values shaped like the sources' examples).
SAMPLES = {
    "Person ID": "serial", "Employee Number": "serial", "Assignment Number": "assignment_number",
    "Last Name": "surname", "First Name": "forename", "Middle Names": "rare", "Maiden Name": "rare",
    "Preferred Name": "rare", "Previous Last Name": "rare", "Title": "Mr.|Mrs.|Ms.|Miss|Dr.",
    "Gender": "Female|Male", "Date of Birth": "date_of_birth", "Ethnic Origin": "Not stated",
    "Marital Status": "rare", "Country of Birth": "United Kingdom", "System Person Type": "EMP",
    "User Person Type": "Employee", "Employee Status Flag": "E", "Disability Flag": "N|Y",
    "Nationality": "rare", "Assignment Type": "E", "System Assignment Status": "ACTIVE_ASSIGN",
    "User Assignment Status": "Active Assignment", "Payroll Period Type": "Calendar",
    "Frequency": "W", "Town": "town", "Address Town": "town", "Phone Type": "H1|M",
    "Phone Number": "mobile", "Address Line1": "street", "Address Country": "GB", "Country": "GB",
    "Percentage Split": "1|0.5", "FTE": "1|0.8|0.6", "Normal Hours / Sessions": "37.5|30|22.5",
    "Grade Contract Hours": "37.5", "Budgeted FTE": "1|2.5", "Organisation Type": "NHS_TM",
    "Competency Type": "PERSONAL", "Competency Status": "ACHIEVED", "Absence Units": "D|H",
    "Work Related": "No|Yes", "Certification Required": "No|Yes", "Primary Assignment": "Yes",
    "Primary Flag": "Yes", "Ownership": "P", "Fuel Type": "P|D", "Status": "rare",
}
for id_field in {t[1] for t in TYPES.values()} | {"Assignment ID", "Position ID", "Organisation ID", "Location ID"}:
    SAMPLES.setdefault(id_field, "serial")

FORMS = {
    "id": "X(240)", "text": "X(240)", "date": "date(YYYYMMDD)", "ts": "timestamp(YYYYMMDD HHMMSS)",
    "time": "time(HH:MM)", "num": "N(24,9)", "int": "N(18)", "yesno": "flag(Yes/No)",
    "spare": "X(240)", "unnamed": "X(240)", "ts|date": "timestamp(YYYYMMDD HHMMSS)",
}
DESCRIBE = {
    "spare": "Spare: esr_api reads nothing here (not_used).",
    "unnamed": "esr_api does not read this position; its name is not public.",
    "ts|date": "A date in esr_api (its date list, its database, its test data), a timestamp in Storybook: both are accepted.",
}
NAMED_BY_STORYBOOK = {
    ("PRA", "Marital Status"), ("PRA", "Legacy Payroll Number"), ("PRA", "Nationality"),
    ("POA", "Eligible for OH Processing"), ("POA", "EPP Flag"), ("POA", "Deanery Post Number"),
    ("POA", "Managing Deanery Body"),
}

ESR_API = "sardjv/esr_api"
ESR_API_AT = "baf69e8bf063fbbfaa41599e5be8fe2fdbe835c9"
STORYBOOK = "RichEDev/Storybook"
STORYBOOK_AT = "672b383f8fcaeb88aa880a16bd6aa81445421d0a"
HEADERS = {
    "PRA": "person_record.rb", "ASA": "assignment_record.rb", "ABA": "absence_record.rb",
    "CDA": "competence_definition_record.rb", "CMA": "competency_record.rb", "COA": "costing_record.rb",
    "DTA": "disability_record.rb", "ELA": "element_record.rb", "ETA": "person_eit_record.rb",
    "LCA": "location_record.rb", "ORA": "organisation_record.rb", "PIA": "position_eit_record.rb",
    "POA": "position_record.rb", "QLA": "qualification_record.rb", "STA": "sit_record.rb",
    "TRA": "training_absence_record.rb",
}
STORYBOOK_RECORDS = {
    "PRA": "EsrPersonRecord.cs", "ASA": "EsrAssignmentRecord.cs", "COA": "EsrAssignmentCostingRecord.cs",
    "LCA": "EsrLocationRecord.cs", "ORA": "EsrOrganisationRecord.cs", "POA": "EsrPositionRecord.cs",
    "PHA": "EsrPhoneRecord.cs", "ADA": "EsrAddressRecord.cs", "VHA": "EsrVehicleRecord.cs",
}
# ESR added trailing spare fields in October 2020 (esr_api's exact reader broke on real files);
# the counts before, as esr_api had them and as Storybook still reads ASA and ORA.
OCT_2020 = {"ASA": 50, "ORA": 15, "ABA": 41, "CMA": 23}
OCT_2020_COMMITS = (
    "e24bd6f2aa9c489eb96a2c920914312f80d34ac4 (ORA +1), a407361586576244a497b7195142836a85bb1f8e (ASA +1), "
    "fd27658404a6aeaa35167399a166cef8f5a4bf9e (ABA +7), 221efd9f4d92df142e3ad77bd2546fe266d6d9ae (CMA +4)"
)


def spec():
    types, cur = {}, None
    for line in SPEC.strip().splitlines():
        if line.endswith(":") and not line.startswith(" "):
            cur = line[:-1]
            types[cur] = []
        elif line.strip():
            name, form = [x.strip() for x in line.split("|", 1)]
            types[cur].append((name, form))
    return types


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field(code, name, form, required=False, extra=""):
    parts = [f"name = {q(name)}", f"format = {q(FORMS.get(form, form))}"]
    if form == "ts|date":
        parts.append('also = "date(YYYYMMDD)"')
    if required:
        parts.append("required = true")
    if (code, name) in SENSITIVE:
        parts.append(f'sensitive = "{SENSITIVE[(code, name)]}"')
    hint = "none" if form in ("spare", "unnamed") else SAMPLES.get(name)
    if hint:
        parts.append(f"sample = {q(hint)}")
    desc = DESCRIBE.get(form)
    if (code, name) in NAMED_BY_STORYBOOK:
        desc = "Named by Storybook only; esr_api reads nothing here (not_used)."
    if desc:
        parts.append(f"description = {q(desc)}")
    if extra:
        parts.append(extra)
    return "  { " + ", ".join(parts) + " },"


HEADER = [
    ("Record Type", "F(3)", ""),
    ("File Name", "X(240)", 'required = true, generate = "file_name", description = "The file\'s own name (Storybook takes the extract type and sequence from it)"'),
    ("Extract Time", "timestamp(YYYYMMDD HHMMSS)", 'required = true, generate = "now", description = "When the file was made"'),
    ("VPD Code", "F(3)", 'required = true, check = "vpd", generate = "vpd"'),
    ("Previous Run", "timestamp(YYYYMMDD HHMMSS)", 'also = "X(15)", pattern = "[0-9]{8} [0-9]{6}", required = true, sample = "previous_run", description = "The previous run (midnight for a change file); all zeros in a full extract (esr_api\'s GOF test file)"'),
    ("This Run", "timestamp(YYYYMMDD HHMMSS)", 'required = true, sample = "this_run", description = "This run: a change file covers midnight to midnight"'),
    ("Version", "X(10)", 'required = true, sample = "01", description = "The version of the NHS Hub interface software that made the file (Storybook); 01 in every example"'),
]


def records(codes, lov):
    s = spec()
    out = []
    out.append('[[record]]\ntype = "HDR"\nrole = "header"\nname = "Header"\nfield = [')
    for name, fmt, extra in HEADER:
        parts = [f"name = {q(name)}", f"format = {q(fmt)}"] + ([extra] if extra else [])
        out.append("  { " + ", ".join(parts) + " },")
    out.append("]\n")
    for code in codes:
        title, key, count, history = TYPES[code]
        out.append(f'[[record]]\ntype = "{code}"\nname = "{title} (add/update)"')
        if history:
            k, a, b = history
            out.append(f'history = {{ key = [{q(k)}], start = {q(a)}, end = {q(b)} }}')
        out.append(f"sample_count = {count}\nfield = [")
        for name, form in s[code]:
            if form == "type":
                out.append('  { name = "Record Type", format = "F(3)" },')
            else:
                out.append(field(code, name, form, required=(name == key)))
        out.append("]\n")
        d = code[:2] + "D"
        out.append(
            f'[[record]]\ntype = "{d}"\nname = "{title} (delete)"\n'
            'description = "A delete record carries only the type and the id (esr_api\'s delete_headers; Storybook\'s RecordDeleteLength = 2)."\n'
            "sample_count = 0.02\nfield = [\n"
            '  { name = "Record Type", format = "F(3)" },\n'
            f'  {{ name = {q(key)}, format = "X(240)", required = true, sample = "serial" }},\n]\n'
        )
    if lov:
        lov_fields = [
            ("LOV Field 2", "LKUP", "`LKUP` in esr_api's test file (the kind of list)"),
            ("LOV Field 3", "NHS_NACS_CODE", "`NHS_NACS_CODE` in esr_api's test file (the list)"),
            ("LOV Field 4", None, "a code such as `123-RCX` in esr_api's test file"),
            ("LOV Field 5", None, "the code and an organisation's name in esr_api's test file"),
        ] + [(f"LOV Field {i}", "none", "empty in esr_api's test file") for i in range(6, 10)] + [
            ("LOV Field 10", "Y", "`Y` in esr_api's test file"),
            ("LOV Field 11", "none", "empty in esr_api's test file"),
            ("LOV Field 12", "none", "empty in esr_api's test file"),
            ("LOV Field 13", None, "a timestamp in esr_api's test file"),
        ]
        out.append(
            '[[record]]\ntype = "LOV"\nname = "List of values"\n'
            'description = "13 fields in esr_api\'s only example; their names and structure are not public, so each is free text (esr_api skips these lines)."\n'
            "sample_count = 0.05\nfield = [\n"
            '  { name = "Record Type", format = "F(3)" },'
        )
        for name, hint, desc in lov_fields:
            parts = [f"name = {q(name)}", 'format = "X(240)"']
            if hint:
                parts.append(f"sample = {q(hint)}")
            parts.append(f"description = {q('Seen: ' + desc)}")
            out.append("  { " + ", ".join(parts) + " },")
        out.append("]\n")
    out.append(
        '[[record]]\ntype = "TRL"\nrole = "trailer"\nname = "Trailer"\nfield = [\n'
        '  { name = "Record Type", format = "F(3)" },\n'
        '  { name = "Record Count", format = "N(10)", required = true, control = "lines", description = "Every line of the file, header and trailer included (Storybook\'s EsrRecordProcessor and its tests: TRL~3 for a header, one record and a trailer). esr_api ignores the trailer." },\n]\n'
    )
    return "\n".join(out)


def sources(codes, extra):
    out = []
    for code in codes:
        if code in HEADERS:
            out.append((ESR_API, f"app/services/etl/headers/{HEADERS[code]}", ESR_API_AT, f"{code}: its fields in order, their date and timestamp forms, and its delete record"))
        if code in STORYBOOK_RECORDS:
            out.append((STORYBOOK, f"EsrGo2FromNhs/EsrGo2FromNhs/ESR/{STORYBOOK_RECORDS[code]}", STORYBOOK_AT, f"{code}: the same fields as a reader of the expenses feed names and parses them"))
    out += extra
    text = []
    for repo, path, commit, shows in out:
        text.append(f"[[sources]]\nrepository = {q(repo)}\npath = {q(path)}\ncommit = {q(commit)}\nshows = {q(shows)}\n")
    return "\n".join(text)


COMMON_SOURCES = [
    (ESR_API, "app/services/etl/sources/file.rb", ESR_API_AT, "'~' delimited, ISO-8859-1, no column-name row, quotes read as text"),
    (ESR_API, "app/services/etl/transformations/skip_unwanted_rows.rb", ESR_API_AT, "HDR, TRL and LOV lines occur (and are skipped by esr_api)"),
    (ESR_API, "app/services/etl/destinations/active_record.rb", ESR_API_AT, "records are date-tracked: PRA, ASA and POA are keyed by their id with their effective start and end dates"),
    (ESR_API, "docs/docs/deltas.mdx", ESR_API_AT, "a real change file's header; the full-refresh request and its time (the end of the last change file)"),
    (ESR_API, "app/models/ftp_credential.rb", ESR_API_AT, "the file name GO_<VPD>_GDW_<kind>_<YYYYMMDD>_<8-digit sequence>.DAT and the refresh request's name and contents"),
    (ESR_API, "app/services/etl/headers/assignment_record.rb", "a407361586576244a497b7195142836a85bb1f8e", "October 2020: ESR added trailing spare fields (ASA +1; ORA, ABA and CMA in the commits beside it) and an exact reader broke"),
    (STORYBOOK, "EsrGo2FromNhs/EsrGo2FromNhs/ESR/EsrHeaderRecord.cs", STORYBOOK_AT, "the header's 7 fields and the file name's parts (GOF full, GOC changes, the sequence)"),
    (STORYBOOK, "EsrGo2FromNhs/EsrGo2FromNhs/EsrRecordProcessor.cs", STORYBOOK_AT, "the trailer counts every line; a file's sequence must be the last one received (a re-send) or the next"),
    (STORYBOOK, "UnitTest2012Ultimate/EsrFileProcessingService/EsrRecordProcessorTest.cs", STORYBOOK_AT, "TRL~3 for a header, one record and a trailer"),
]

GDW_TYPES = ["PRA", "ASA", "ABA", "CDA", "CMA", "COA", "DTA", "ELA", "ETA", "LCA", "ORA", "PIA", "POA", "QLA", "STA", "TRA"]
EXP_TYPES = ["LCA", "ORA", "POA", "PRA", "ASA", "PHA", "ADA", "VHA", "COA"]


def release(codes):
    counts = ", ".join(f"{c} = {n}" for c, n in OCT_2020.items() if c in codes)
    return (
        '[[release]]\nname = "ESR before October 2020"\n'
        f'description = "The field counts before ESR added trailing spare fields in October 2020 (esr_api commits {OCT_2020_COMMITS}; Storybook still reads ASA 50 and ORA 15)"\n'
        f"fields = {{ {counts} }}\n"
    )


def write(path, head, body):
    with open(path, "w", encoding="utf-8") as f:
        f.write(head.strip() + "\n\n" + body.strip() + "\n")


GDW_HEAD = """
# Local Data Warehouse (out of ESR): ESR's Generic Outbound data-warehouse extract (GO_..._GDW_).
#
# WRITTEN BY scripts/make-go-layouts.py FROM PUBLIC CODE THAT READS REAL ESR FILES: edit the
# script, not this file. Each record type's fields are in the published order, with the forms
# the sources show; the sources are listed below ([[sources]]). Lengths are not public (text is
# X(240)); a coded field whose codes are not public is free text.

id = "{id}"
name = "{name}"
version = "2026.2"
evidence = "public-code"
grounding = "{grounding}"
delimiter = "~"
quote = ""
encoding = "iso-8859-1"
line_ending = "lf"
discriminator = 1
file_name = "{file_name}"
direction = "out"
full_files = {full_files}
unknown_records = "warning"
spare_fields = "warning"
{refresh}
"""


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "layouts")
    refresh = (
        "full_refresh = true\n\n[refresh]\n"
        'kind = "GDR"\nsequence = 1\nfields = ["Record Type", "File Name", "Extract Time"]\n'
        'time = "This Run"\nfinal_newline = false\n'
    )
    gdw_grounding = (
        "Every record type of the extract, field by field in the published order, from sardjv/esr_api "
        "(an ETL built with an NHS trust against its real daily extracts) and RichEDev/Storybook (an expenses "
        "supplier's reader of the same GO format). PRA, ASA and POA are date-tracked. Full extracts are named "
        "GOF or GDR, changes GOC, with one sequence across both."
    )
    write(
        os.path.join(root, "local-data-warehouse.toml"),
        GDW_HEAD.format(id="local-data-warehouse", name="Local Data Warehouse", grounding=gdw_grounding,
                        file_name="GO_{VPD}_GDW_{GOF|GDR|GOC}_{YYYYMMDD}_{SEQ:8}.DAT",
                        full_files='["GOF", "GDR"]', refresh=refresh),
        sources(GDW_TYPES, COMMON_SOURCES) + "\n" + release(GDW_TYPES) + "\n" + records(GDW_TYPES, lov=True),
    )
    go_grounding = (
        "The same Generic Outbound record types as the data-warehouse extract, field by field from "
        "sardjv/esr_api and RichEDev/Storybook. The GOB part of the file name is representative: the public "
        "sources show only GDW (data warehouse) and EXP (expenses) feeds."
    )
    go_head = GDW_HEAD.replace(
        "# Local Data Warehouse (out of ESR): ESR's Generic Outbound data-warehouse extract (GO_..._GDW_).",
        "# Generic Outbound (out of ESR): a daily feed of employee and assignment data for local processing.",
    )
    write(
        os.path.join(root, "generic-outbound.toml"),
        go_head.format(id="generic-outbound", name="Generic Outbound", grounding=go_grounding,
                       file_name="GO_{VPD}_GOB_{GOF|GDR|GOC}_{YYYYMMDD}_{SEQ:8}.DAT",
                       full_files='["GOF", "GDR"]', refresh=""),
        sources(GDW_TYPES, COMMON_SOURCES) + "\n" + release(GDW_TYPES) + "\n" + records(GDW_TYPES, lov=True),
    )
    exp_head = GDW_HEAD.replace(
        "# Local Data Warehouse (out of ESR): ESR's Generic Outbound data-warehouse extract (GO_..._GDW_).",
        "# Expenses - Staff Lists (out of ESR): ESR's Generic Outbound expenses feed (GO_..._EXP_), read\n"
        "# by expenses systems: locations, organisations, positions, people with their assignments,\n"
        "# phones, addresses, vehicles and costings.",
    ).replace('encoding = "iso-8859-1"', 'encoding = "iso-8859-1"')
    exp_grounding = (
        "The expenses feed out of ESR as RichEDev/Storybook (an expenses supplier) reads it: HDR of 7 fields, "
        "LCA, ORA, POA, PRA, ASA, PHA, ADA, VHA and COA records and their deletes, TRL counting every line; the "
        "shared record types' fields as sardjv/esr_api lists them for the data-warehouse extract. The encoding "
        "is not stated; ISO-8859-1 is read as for the data-warehouse extract."
    )
    exp_sources = [s for s in COMMON_SOURCES if "ftp_credential" not in s[1] and "deltas" not in s[1] and "active_record" not in s[1]] + [
        (STORYBOOK, "EsrGo2FromNhs/EsrGo2FromNhs/ESR/EsrRecordTypes.cs", STORYBOOK_AT, "the record types of the expenses feed"),
        (STORYBOOK, "EsrGo2FromNhs/EsrGo2FromNhs/ESR/EsrFile.cs", STORYBOOK_AT, "'~' delimited; delete records of 2 fields"),
    ]
    write(
        os.path.join(root, "expenses-staff-lists.toml"),
        exp_head.format(id="expenses-staff-lists", name="Expenses — Staff Lists", grounding=exp_grounding,
                        file_name="GO_{VPD}_EXP_{GOF|GOC}_{YYYYMMDD}_{SEQ:8}.DAT",
                        full_files='["GOF"]', refresh=""),
        sources(EXP_TYPES, exp_sources) + "\n" + release(EXP_TYPES) + "\n" + records(EXP_TYPES, lov=False),
    )


if __name__ == "__main__":
    main()
