// electron-builder's msiProjectCreated hook: adds the machine policy directory,
// %ProgramData%\Holdfast, to the MSI's WiX project, readable by Users and writable
// only by Administrators and SYSTEM (the MSI replaces the folder's ACL with these).
// Uninstalling leaves it (a folder with the administrator's policy.json in it is not removed).
// electron-builder loads hook files with require(), so this one is CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readFileSync, writeFileSync } = require('node:fs');

const DIRECTORY = '<Directory Id="CommonAppDataFolder"><Directory Id="HOLDFASTPOLICYDIR" Name="Holdfast"/></Directory>';
const COMPONENT = [
  '<Component Id="HoldfastPolicyDirectory" Directory="HOLDFASTPOLICYDIR" Guid="{6A0E5B57-4E0B-4C43-9C59-3B1A8E6D2F10}" Permanent="yes">',
  '<CreateFolder>',
  '<Permission User="Administrators" GenericAll="yes"/>',
  '<Permission User="SYSTEM" GenericAll="yes"/>',
  '<Permission User="Users" GenericRead="yes" GenericExecute="yes"/>',
  '</CreateFolder>',
  '</Component>',
].join('');

/** The project text with the policy directory added (unchanged if it is there already). */
function addPolicyDirectory(wxs) {
  if (wxs.includes('HOLDFASTPOLICYDIR')) return wxs;
  const root = /<Directory Id="TARGETDIR" Name="SourceDir">/;
  const feature = /<Feature Id="ProductFeature"[^>]*>/;
  if (!root.test(wxs) || !feature.test(wxs)) throw new Error('msi-policy-dir: the WiX project has no TARGETDIR or ProductFeature; electron-builder\'s template changed');
  return wxs
    .replace(root, (match) => `${match}\n      ${DIRECTORY}`)
    .replace(feature, (match) => `${match}\n      <ComponentRef Id="HoldfastPolicyDirectory"/>`)
    .replace('</Product>', `  ${COMPONENT}\n  </Product>`);
}

async function msiProjectCreated(projectFile) {
  writeFileSync(projectFile, addPolicyDirectory(readFileSync(projectFile, 'utf8')));
}

module.exports = msiProjectCreated;
module.exports.default = msiProjectCreated;
module.exports.addPolicyDirectory = addPolicyDirectory;
