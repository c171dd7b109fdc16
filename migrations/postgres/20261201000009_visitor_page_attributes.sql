-- Attributes the site's page sets on its visitor with Bellhop.setAttributes (unverified,
-- unlike `attributes`, which the site's server signs): a JSON object.
ALTER TABLE visitors ADD COLUMN page_attributes TEXT NOT NULL DEFAULT '{}';
