# frozen_string_literal: true

# rspec-puppet for the autoami module (Debian's ruby-rspec-puppet and
# ruby-puppetlabs-spec-helper: rspec-puppet 2.9 on Debian 12, 4.x on Debian 13). The
# modulepath is a throwaway fixtures directory of symlinks: this repository's module/ as
# `autoami`, and puppetlabs-mysql, -stdlib, -inifile and -translate from Debian's puppet-module-*
# packages (or $AUTOAMI_SYSTEM_MODULES).
require 'fileutils'
require 'tmpdir'
require 'yaml'

REPO_ROOT = File.expand_path('../..', __dir__)
SYSTEM_MODULES = ENV.fetch('AUTOAMI_SYSTEM_MODULES', '/usr/share/puppet/modules')

# Laid out as puppetlabs_spec_helper expects (<dir>/spec/fixtures/{modules,manifests}).
FIXTURES_ROOT = Dir.mktmpdir('autoami-fixtures-')
at_exit { FileUtils.rm_rf(FIXTURES_ROOT) }
FIXTURES = File.join(FIXTURES_ROOT, 'spec', 'fixtures')
MODULES = File.join(FIXTURES, 'modules')
FileUtils.mkdir_p([MODULES, File.join(FIXTURES, 'manifests')])
File.symlink(File.join(REPO_ROOT, 'module'), File.join(MODULES, 'autoami'))
%w[mysql stdlib inifile translate].each do |name|
  source = File.join(SYSTEM_MODULES, name)
  unless File.directory?(source)
    next if name == 'translate' # mysql needs it only to word some errors

    abort "spec/module/spec_helper.rb: #{source} is missing: install puppet-module-puppetlabs-#{name} (see .ci/run)"
  end
  File.symlink(source, File.join(MODULES, name))
end

RSpec.configure { |c| c.mock_with :rspec }
# module_spec_helper takes its fixtures from the working directory's spec/fixtures.
Dir.chdir(FIXTURES_ROOT) { require 'puppetlabs_spec_helper/module_spec_helper' }

# Debian 12 and 13 as Facter 4 reports them on a master of that release. Puppet 7
# (Debian 12) still sends the legacy facts, which puppetlabs-mysql 8.x reads; Puppet 8
# (Debian 13) does not (include_legacy_facts is off) and puppetlabs-mysql 15 reads none.
# strict_variables is on, so every fact a manifest reads must exist.
def debian_facts(major, minor, codename, legacy:)
  release = { 'full' => "#{major}.#{minor}", 'major' => major, 'minor' => minor }
  facts = {
    'kernel' => 'Linux',
    'os' => {
      'name' => 'Debian',
      'family' => 'Debian',
      'release' => release,
      'distro' => { 'codename' => codename, 'id' => 'Debian', 'release' => release },
      'architecture' => 'amd64',
      'hardware' => 'x86_64',
      'selinux' => { 'enabled' => false },
    },
    'networking' => { 'fqdn' => 'puppet.example.com', 'hostname' => 'puppet', 'domain' => 'example.com', 'ip' => '192.0.2.10' },
    'path' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'service_provider' => 'systemd',
    'root_home' => '/root',
    'puppetversion' => Puppet.version,
    'mysql_server_id' => 1, # puppetlabs-mysql's own fact
  }
  return facts unless legacy

  facts.merge(
    'osfamily' => 'Debian',
    'operatingsystem' => 'Debian',
    'operatingsystemrelease' => release['full'],
    'operatingsystemmajrelease' => major,
    'lsbdistcodename' => codename,
    'lsbdistid' => 'Debian',
    'lsbmajdistrelease' => major,
    'fqdn' => 'puppet.example.com',
    'hostname' => 'puppet',
    'domain' => 'example.com',
    'ipaddress' => '192.0.2.10',
    'architecture' => 'amd64',
  )
end

DEBIAN_FACTS = {
  '12' => debian_facts('12', '7', 'bookworm', legacy: true).freeze,
  '13' => debian_facts('13', '1', 'trixie', legacy: false).freeze,
}.freeze

# The catalogues are compiled for the Debian release the specs run on, as its own Puppet,
# puppetlabs-mysql and -stdlib would compile them for a master of that release; on anything
# else, for Debian 12.
HOST_DEBIAN = begin
  File.read('/etc/os-release')[%r{^VERSION_ID="?(\d+)"?$}, 1]
rescue SystemCallError
  nil
end
DEBIAN_RELEASE = DEBIAN_FACTS.key?(HOST_DEBIAN) ? HOST_DEBIAN : '12'

RSpec.configure do |c|
  c.module_path = MODULES
  # rspec-puppet 2.x (Debian 12) has manifest_dir; 4.x (Debian 13) dropped it.
  c.manifest_dir = File.join(FIXTURES, 'manifests') if c.respond_to?(:manifest_dir=)
  c.default_facts = DEBIAN_FACTS.fetch(DEBIAN_RELEASE)
  # rspec-puppet infers the example type from spec/classes/, which these are not under.
  c.define_derived_metadata(file_path: %r{/spec/module/classes/}) { |meta| meta[:type] ||= :class }
  c.strict_variables = true if c.respond_to?(:strict_variables=)
end

# The Puppet settings the class defaults to, as rspec-puppet's compiler sees them.
def puppet_setting(name)
  Puppet.settings[name]
end

# The keys runtime/config.ts accepts ({ top-level key => nil | [section keys] }), read
# from its source so the class and the sidecar cannot drift apart.
def sidecar_config_keys
  @sidecar_config_keys ||= begin
    source = File.read(File.join(REPO_ROOT, 'runtime', 'config.ts'))
    top = source[/const TOP_KEYS = \[([^\]]*)\]/, 1] or raise 'TOP_KEYS not found in runtime/config.ts'
    keys = top.scan(/'([a-z_]+)'/).flatten.to_h { |key| [key, nil] }
    source.scan(/section\(\w+, '([a-z_]+)', \[([^\]]*)\]\)/).each do |name, list|
      keys[name] = list.scan(/'([a-z_]+)'/).flatten
    end
    keys
  end
end

# The content of a file resource in the compiled catalogue, Sensitive unwrapped.
def file_content(path)
  resource = catalogue.resource('File', path) or raise "no File[#{path}] in the catalogue"
  content = resource[:content]
  content.respond_to?(:unwrap) ? content.unwrap : content
end

# autoami.yaml as the sidecar would parse it.
def autoami_yaml(config_dir = Puppet[:confdir])
  YAML.safe_load(file_content("#{config_dir}/autoami.yaml"))
end
