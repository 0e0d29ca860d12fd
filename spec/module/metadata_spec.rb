# frozen_string_literal: true

require 'json'
require 'semantic_puppet'
require_relative 'spec_helper'

# metadata.json's dependencies are what `puppet module install` fetches from the Forge (and
# what a master without the Forge installs from Debian): every module the manifests use,
# at versions that include the ones Debian ships, which these specs run with.
describe 'metadata.json' do
  metadata = JSON.parse(File.read(File.join(REPO_ROOT, 'metadata.json')))
  dependencies = metadata.fetch('dependencies').to_h { |dep| [dep.fetch('name'), dep.fetch('version_requirement')] }
  sources = Dir[File.join(REPO_ROOT, 'module', '{manifests,types,templates}', '**', '*.{pp,epp}')].sort.map { |file| File.read(file) }.join("\n")

  {
    'puppetlabs/mysql' => %r{\bmysql::},
    'puppetlabs/stdlib' => %r{\bStdlib::},
    'puppetlabs/inifile' => %r{\bini_(?:sub)?setting\b},
  }.each do |name, use|
    it "declares #{name}, which the manifests use" do
      expect(sources).to match(use)
      expect(dependencies).to have_key(name)
    end
  end

  dependencies.each do |name, requirement|
    it "admits Debian's #{name} (#{requirement})" do
      installed = JSON.parse(File.read(File.join(SYSTEM_MODULES, name.split('/').last, 'metadata.json'))).fetch('version')
      expect(SemanticPuppet::VersionRange.parse(requirement).include?(SemanticPuppet::Version.parse(installed))).to be(true), "#{name} #{installed} is outside #{requirement}"
    end
  end
end
