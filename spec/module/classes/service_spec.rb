# frozen_string_literal: true

require_relative '../spec_helper'

describe 'autoami::service' do
  # Private: tested through the class, as users declare it.
  let(:pre_condition) { "class { 'autoami': #{params_for_autoami.map { |k, v| "#{k} => #{v}" }.join(', ')} }" }
  let(:params_for_autoami) { {} }
  let(:unit) { '/etc/systemd/system/autoami.service' }
  let(:unit_text) { file_content(unit) }
  let(:config_file) { "#{Puppet[:confdir]}/autoami.yaml" }
  let(:dbpass_file) { "#{Puppet[:confdir]}/autoami.dbpass" }

  def unit_lines
    unit_text.lines.map(&:chomp).reject { |line| line.start_with?('#') || line.empty? }
  end

  context 'with defaults' do
    it { is_expected.to compile.with_all_deps }

    it 'creates state_dir for the sidecar, readable by the puppet group' do
      is_expected.to contain_file('/var/lib/autoami').with(ensure: 'directory', owner: 'autoami', group: 'puppet', mode: '0750')
    end

    it 'creates the spool the report processor writes into' do
      is_expected.to contain_file('/var/lib/autoami/spool').with(ensure: 'directory', owner: 'autoami', group: 'puppet', mode: '0770')
    end

    it 'leaves the socket directory to systemd' do
      is_expected.not_to contain_file('/run/autoami')
      expect(unit_lines).to include('RuntimeDirectory=autoami', 'RuntimeDirectoryMode=0750')
    end

    it { is_expected.to contain_package('nodejs').with_ensure('installed') }

    it 'writes the unit' do
      is_expected.to contain_file(unit).with(ensure: 'file', owner: 'root', group: 'root', mode: '0644')
      expect(unit_lines).to include(
        "ExecStart=/usr/bin/node --max-semi-space-size=4 --optimize-for-size /opt/autoami/runtime/bin/autoami.js serve --config #{config_file}",
        'User=autoami',
        'Group=puppet',
        'WorkingDirectory=/var/lib/autoami',
        'Restart=on-failure',
        'WantedBy=multi-user.target',
      )
    end

    it 'hardens the unit' do
      expect(unit_lines).to include(
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ProtectHome=read-only',
        'PrivateTmp=yes',
        'PrivateDevices=yes',
        'ReadWritePaths=/var/lib/autoami',
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
        'RestrictNamespaces=yes',
        'RestrictSUIDSGID=yes',
        'ProtectKernelTunables=yes',
        'ProtectKernelModules=yes',
        'ProtectControlGroups=yes',
        'LockPersonality=yes',
        'CapabilityBoundingSet=',
        'UMask=0027',
      )
      # Node's JIT needs writable executable memory.
      expect(unit_text).not_to match(%r{^MemoryDenyWriteExecute=yes})
    end

    it 'reloads systemd when the unit changes' do
      is_expected.to contain_exec('autoami-systemd-daemon-reload').with(
        command: 'systemctl daemon-reload', refreshonly: true,
      ).that_subscribes_to("File[#{unit}]")
    end

    # A refresh of the whole service class (Class[autoami::config] ~> Class[autoami::service])
    # once reached every resource in it: a new autoami.yaml refreshed Package[nodejs] and ran
    # daemon-reload. rspec-puppet counts a relationship between the classes that contain two
    # resources as one between them, so these fail if any such class-wide refresh comes back.
    it 'refreshes only the service when the configuration, the password file or the code change' do
      is_expected.to contain_package('nodejs')
      is_expected.to contain_exec('autoami-systemd-daemon-reload')
      [config_file, dbpass_file, '/opt/autoami', '/opt/autoami/runtime/bin/autoami.js'].each do |file|
        is_expected.to contain_service('autoami').that_subscribes_to("File[#{file}]")
        is_expected.not_to contain_package('nodejs').that_subscribes_to("File[#{file}]")
        is_expected.not_to contain_exec('autoami-systemd-daemon-reload').that_subscribes_to("File[#{file}]")
      end
    end

    it 'reloads systemd for the unit and for nothing else' do
      subscribed = catalogue.resources.select { |r| r.type == 'File' }.map(&:ref).select do |ref|
        RSpec::Puppet::ManifestMatchers::CreateGeneric.new(:contain_exec, 'autoami-systemd-daemon-reload').that_subscribes_to(ref).matches?(catalogue)
      end
      expect(subscribed).to eq(["File[#{unit}]"])
    end

    it 'never refreshes the Node.js package' do
      notifying = catalogue.resources.map(&:ref).reject { |ref| ref == 'Package[nodejs]' }.select do |ref|
        RSpec::Puppet::ManifestMatchers::CreateGeneric.new(:contain_package, 'nodejs').that_subscribes_to(ref).matches?(catalogue)
      end
      expect(notifying).to eq([])
    end

    it { is_expected.to contain_service('autoami').with(ensure: 'running', enable: true) }

    it 'restarts on a change of configuration, password file, unit or code' do
      is_expected.to contain_service('autoami')
        .that_subscribes_to("File[#{config_file}]")
        .that_subscribes_to("File[#{dbpass_file}]")
        .that_subscribes_to("File[#{unit}]")
        .that_subscribes_to('File[/opt/autoami]')
        .that_subscribes_to('File[/opt/autoami/runtime/bin/autoami.js]')
    end

    it 'does not restart for the commands it does not run' do
      is_expected.to contain_file('/usr/local/bin/autoami')
      is_expected.not_to contain_service('autoami').that_subscribes_to('File[/usr/local/bin/autoami]')
      is_expected.not_to contain_service('autoami').that_subscribes_to('File[/opt/autoami/bin/autoami-autosign]')
    end

    it 'starts after daemon-reload, Node.js and the directories' do
      is_expected.to contain_service('autoami')
        .that_requires('Exec[autoami-systemd-daemon-reload]')
        .that_requires('Package[nodejs]')
        .that_requires('File[/var/lib/autoami/spool]')
    end
  end

  # systemd's own parser (Debian's `systemd` package, which .ci/run installs; the test
  # machine need not run systemd). Any warning (unknown key, bad value) fails.
  describe 'the unit, as systemd-analyze verify reads it' do
    systemd_analyze = ENV.fetch('PATH', '').split(File::PATH_SEPARATOR).map { |dir| File.join(dir, 'systemd-analyze') }.find { |f| File.executable?(f) }

    {
      'defaults' => {},
      'a socket outside /run, ProtectHome=yes' => { socket: "'/srv/aa/s.sock'", protect_home: "'yes'" },
    }.each do |what, extra|
      context "with #{what}" do
        # An executable that exists everywhere, since verify checks ExecStart's binary.
        let(:params_for_autoami) { { node_binary: "'/bin/sh'" }.merge(extra) }

        it 'has no warnings' do
          raise 'systemd-analyze is not installed: install the Debian package systemd (see .ci/run)' unless systemd_analyze
          Dir.mktmpdir do |dir|
            path = File.join(dir, 'autoami.service')
            File.write(path, unit_text)
            output = IO.popen([systemd_analyze, 'verify', path], err: %i[child out], &:read)
            expect(output.lines.grep(%r{autoami\.service})).to eq([])
          end
        end
      end
    end
  end

  context 'with the service stopped and disabled' do
    let(:params_for_autoami) { { service_ensure: "'stopped'", service_enable: false } }

    it { is_expected.to contain_service('autoami').with(ensure: 'stopped', enable: false) }
  end

  context 'with manage_service off' do
    let(:params_for_autoami) { { manage_service: false } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_service('autoami') }
    it { is_expected.not_to contain_file(unit) }
    it { is_expected.not_to contain_exec('autoami-systemd-daemon-reload') }

    it 'manages the socket directory itself' do
      is_expected.to contain_file('/run/autoami').with(ensure: 'directory', owner: 'autoami', group: 'puppet', mode: '0750')
    end

    it 'still installs the sidecar and writes the state directories' do
      is_expected.to contain_file('/opt/autoami')
      is_expected.to contain_file('/opt/autoami/runtime/bin/autoami.js').with_mode('0755')
      is_expected.to contain_package('nodejs')
      is_expected.to contain_file('/var/lib/autoami/spool')
    end
  end

  context 'with manage_nodejs off' do
    let(:params_for_autoami) { { manage_nodejs: false } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_package('nodejs') }
  end

  context 'with another Node.js package and binary' do
    let(:params_for_autoami) { { nodejs_package: "'nodejs20'", nodejs_ensure: "'20.11.1'", node_binary: "'/usr/local/bin/node'" } }

    it { is_expected.to contain_package('nodejs20').with_ensure('20.11.1') }
    it { is_expected.to contain_service('autoami').that_requires('Package[nodejs20]') }
    it { expect(unit_lines.grep(%r{^ExecStart=})).to eq(["ExecStart=/usr/local/bin/node --max-semi-space-size=4 --optimize-for-size /opt/autoami/runtime/bin/autoami.js serve --config #{config_file}"]) }
  end

  context 'with manage_install off' do
    let(:params_for_autoami) { { manage_install: false, install_dir: "'/usr/lib/autoami'" } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_file('/usr/lib/autoami') }
    it { is_expected.not_to contain_file('/opt/autoami') }
    it { expect(unit_lines.grep(%r{^ExecStart=}).first).to include(' /usr/lib/autoami/runtime/bin/autoami.js serve') }
  end

  context 'with everything off' do
    let(:params_for_autoami) do
      { manage_service: false, manage_install: false, manage_nodejs: false, manage_user: false, manage_puppet_conf: false, manage_command: false }
    end

    it { is_expected.to compile.with_all_deps }

    it 'manages only the configuration and the directories' do
      managed = catalogue.resources.select { |r| %w[File Package Service Exec User Group Ini_setting Ini_subsetting].include?(r.type) }.map(&:ref)
      expect(managed).to contain_exactly(
        "File[#{config_file}]", "File[#{dbpass_file}]",
        'File[/var/lib/autoami]', 'File[/var/lib/autoami/spool]', 'File[/run/autoami]'
      )
    end
  end

  context 'with a socket outside /run' do
    let(:params_for_autoami) { { socket: "'/srv/autoami/sock/autoami.sock'" } }

    it { is_expected.to contain_file('/srv/autoami/sock').with(ensure: 'directory', owner: 'autoami', group: 'puppet', mode: '0750') }
    it { is_expected.to contain_service('autoami').that_requires('File[/srv/autoami/sock]') }
    it { expect(unit_text).not_to match(%r{^RuntimeDirectory}) }
    it { expect(unit_lines).to include('ReadWritePaths=/var/lib/autoami /srv/autoami/sock') }
  end

  context 'with the socket in state_dir and the service unmanaged' do
    let(:params_for_autoami) { { socket: "'/var/lib/autoami/autoami.sock'", manage_service: false } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_file('/var/lib/autoami').with_mode('0750') }
  end

  context 'with a socket under /var/run' do
    let(:params_for_autoami) { { socket: "'/var/run/autoami-prod/s.sock'" } }

    it { expect(unit_lines).to include('RuntimeDirectory=autoami-prod') }
    it { is_expected.not_to contain_file('/var/run/autoami-prod') }
  end

  context 'with a nested runtime directory' do
    let(:params_for_autoami) { { socket: "'/run/puppet/autoami/s.sock'" } }

    it { expect(unit_lines).to include('RuntimeDirectory=puppet/autoami') }
  end

  %w[yes no tmpfs].each do |value|
    context "with protect_home => #{value}" do
      let(:params_for_autoami) { { protect_home: "'#{value}'" } }

      it { expect(unit_lines).to include("ProtectHome=#{value}") }
    end
  end

  context 'with another user, state_dir, config_dir and puppet group' do
    let(:params_for_autoami) do
      { user: "'bakery'", group: "'bakery'", state_dir: "'/srv/bakery'", config_dir: "'/etc/bakery'", puppet_group: "'pe-puppet'" }
    end

    it { is_expected.to contain_file('/srv/bakery').with(owner: 'bakery', group: 'pe-puppet') }
    it { is_expected.to contain_file('/srv/bakery/spool').with(owner: 'bakery', group: 'pe-puppet', mode: '0770') }

    it 'runs as that user, with that group, on that configuration' do
      expect(unit_lines).to include('User=bakery', 'Group=pe-puppet', 'ReadWritePaths=/srv/bakery')
      expect(unit_lines.grep(%r{^ExecStart=}).first).to end_with(' serve --config /etc/bakery/autoami.yaml')
    end

    it { is_expected.to contain_service('autoami').that_subscribes_to('File[/etc/bakery/autoami.yaml]') }
  end
end
