# frozen_string_literal: true

require_relative '../spec_helper'

describe 'autoami::puppet_conf' do
  # Private: tested through the class, as users declare it.
  let(:pre_condition) { "#{extra_manifest}\nclass { 'autoami': #{params_for_autoami.map { |k, v| "#{k} => #{v}" }.join(', ')} }" }
  let(:extra_manifest) { '' }
  let(:params_for_autoami) { {} }
  let(:reports) { 'autoami puppet.conf reports' }
  let(:autosign) { 'autoami puppet.conf autosign' }

  context 'with defaults' do
    it { is_expected.to compile.with_all_deps }

    it 'adds autoami to the reports of [server] in the compiling Puppet\'s puppet.conf, keeping the others' do
      is_expected.to contain_ini_subsetting(reports).with(
        ensure: 'present', path: Puppet[:config], section: 'server', setting: 'reports',
        subsetting: 'autoami', subsetting_separator: ',', use_exact_match: true,
      )
    end

    it 'leaves autosign alone' do
      is_expected.not_to contain_ini_setting(autosign)
      expect(catalogue.resources.map(&:type)).not_to include('Ini_setting')
    end

    it 'notifies no service' do
      expect(catalogue.resource('Ini_subsetting', reports)[:notify]).to be_empty
    end
  end

  context 'with autosign' do
    let(:params_for_autoami) { { autosign: true, puppet_ca_signing: false } }

    it { is_expected.to compile.with_all_deps }

    it 'names the wrapper the class writes as the autosign command' do
      is_expected.to contain_ini_setting(autosign).with(
        ensure: 'present', path: Puppet[:config], section: 'server', setting: 'autosign', value: '/opt/autoami/bin/autoami-autosign',
      )
      is_expected.to contain_file('/opt/autoami/bin/autoami-autosign').that_comes_before("Ini_setting[#{autosign}]")
    end
  end

  context 'with autosign and another install_dir and puppet_conf' do
    let(:params_for_autoami) { { autosign: true, install_dir: "'/srv/autoami'", puppet_conf: "'/etc/puppet/puppet.conf'" } }

    it { is_expected.to contain_ini_setting(autosign).with(path: '/etc/puppet/puppet.conf', value: '/srv/autoami/bin/autoami-autosign') }
    it { is_expected.to contain_ini_subsetting(reports).with_path('/etc/puppet/puppet.conf') }
  end

  context 'with manage_puppet_conf off' do
    let(:params_for_autoami) { { manage_puppet_conf: false } }

    it { is_expected.to compile.with_all_deps }
    it { expect(catalogue.resources.map(&:type) & %w[Ini_setting Ini_subsetting]).to eq([]) }
  end

  context 'with puppetserver_service naming a service in the catalogue' do
    let(:extra_manifest) { "service { 'puppetserver': ensure => running }" }
    let(:params_for_autoami) { { autosign: true, puppetserver_service: "'puppetserver'" } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_ini_subsetting(reports).that_notifies('Service[puppetserver]') }
    it { is_expected.to contain_ini_setting(autosign).that_notifies('Service[puppetserver]') }
    it { is_expected.not_to contain_file("#{Puppet[:confdir]}/autoami.yaml").that_notifies('Service[puppetserver]') }
  end

  context 'with puppetserver_service naming a service nobody declared' do
    let(:params_for_autoami) { { puppetserver_service: "'puppetserver'" } }

    it { is_expected.to compile.and_raise_error(%r{Service\[puppetserver\]}) }
  end
end
